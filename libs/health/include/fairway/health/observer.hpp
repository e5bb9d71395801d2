#pragma once

#include <string>
#include <string_view>

#include <fairway/health/time.hpp>

namespace fairway::health {

// Where an endpoint stands. Active checking moves it between kUp and kDown, outlier detection
// between kUp and kEjected; the proxy makes an endpoint available to its balancer only while both
// say kUp.
enum class HealthState {
  kUp,
  kDown,     // failed `fall` probes in a row (active checking)
  kEjected,  // ejected for a while by outlier detection (passive checking)
};

// Why a change happened.
enum class Reason {
  kProbesPassed,               // `rise` successful probes in a row
  kProbesFailed,               // `fall` failed probes in a row
  kConsecutive5xx,             // outlier.consecutive_5xx server errors in a row
  kConsecutiveGatewayFailure,  // outlier.consecutive_gateway_failure gateway failures in a row
  kFailurePercentage,          // failure share over one interval at or above the threshold
  kEjectionExpired,            // the ejection time has passed
};

// One change of one endpoint's state, as delivered to observers.
struct HealthEvent {
  std::string endpoint;  // the endpoint's id
  HealthState from = HealthState::kUp;
  HealthState to = HealthState::kUp;
  Reason reason = Reason::kProbesFailed;
  TimePoint at{};  // the `now` of the call that made the change

  bool operator==(const HealthEvent&) const = default;
};

// Stable snake_case names for logs, metrics and the admin API: "up", "consecutive_5xx", ...
std::string_view name(HealthState state);
std::string_view name(Reason reason);

// The seam through which HealthChecker and OutlierDetector report changes; the proxy wires it to
// Balancer::setAvailable, the simulator to its reports.
class Observer {
 public:
  virtual ~Observer() = default;

  // Called once per change, in the order the changes happened (one total order per component,
  // across all threads), never twice at once for one component. Runs after the component has
  // released its locks, on the thread of a call that changed state or of a call delivering at
  // the same moment; it may call back into the component, whose resulting events follow once
  // it returns. Must not throw. Does not read a clock: `event.at` carries the time.
  virtual void onHealthChange(const HealthEvent& event) = 0;
};

}  // namespace fairway::health
