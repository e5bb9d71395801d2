#include <fairway/health/observer.hpp>

namespace fairway::health {

std::string_view name(HealthState state) {
  switch (state) {
    case HealthState::kUp:
      return "up";
    case HealthState::kDown:
      return "down";
    case HealthState::kEjected:
      return "ejected";
  }
  return "unknown";
}

std::string_view name(Reason reason) {
  switch (reason) {
    case Reason::kProbesPassed:
      return "probes_passed";
    case Reason::kProbesFailed:
      return "probes_failed";
    case Reason::kConsecutive5xx:
      return "consecutive_5xx";
    case Reason::kConsecutiveGatewayFailure:
      return "consecutive_gateway_failure";
    case Reason::kFailurePercentage:
      return "failure_percentage";
    case Reason::kEjectionExpired:
      return "ejection_expired";
  }
  return "unknown";
}

}  // namespace fairway::health
