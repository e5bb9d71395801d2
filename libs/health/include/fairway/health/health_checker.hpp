#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/health/active_check.hpp>
#include <fairway/health/config.hpp>
#include <fairway/health/observer.hpp>
#include <fairway/health/prober.hpp>
#include <fairway/health/status.hpp>
#include <fairway/health/time.hpp>

namespace fairway::health {

class Notifier;

// One endpoint's active-check state, for observability (admin /backends, simulator reports).
struct EndpointHealth {
  std::string id;
  std::string address;
  HealthState state = HealthState::kUp;
  int remaining = 0;  // results in a row still needed to change state
  bool transitioning = false;
  bool probing = false;  // a probe has been handed out and its result not recorded yet
  TimePoint nextProbeAt{};
  TimePoint lastChange{};  // when it was added or last changed state
  std::optional<ProbeResult> lastResult;
};

// Active health checking of a changing set of endpoints, keyed by id: one ActiveCheck each, a
// schedule ordered by due time, and observers told of every change. Thread-safe: one short lock
// per call, O(log n) per probe handed out or recorded. Events are delivered after the lock is
// released (see Observer).
//
// The caller drives it with its clock: at nextProbeAt(now) call takeDueProbes(now) (or
// probeDue(prober, now)), run each probe, and hand each result to recordProbe(id, result, now).
class HealthChecker {
 public:
  // Use makeHealthChecker(), which validates; this constructor trusts `config`.
  explicit HealthChecker(HealthCheckConfig config);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Membership. `address` is passed through to probe targets. The endpoint starts in `initial`
  // (default: config().initialState) with its first probe due at `now` (plus jitter). Neither
  // add nor remove emits an event: the caller changing membership knows. A result arriving for
  // a removed endpoint is refused with kNotFound. Errors: kInvalidArgument (empty id),
  // kDuplicateId, kNotFound.
  Status add(std::string id, std::string address, TimePoint now,
             std::optional<InitialState> initial = std::nullopt);
  Status remove(std::string_view id);

  // The earliest instant a probe is due, at the earliest `now`, among endpoints not being probed;
  // nullopt when there is none.
  std::optional<TimePoint> nextProbeAt(TimePoint now) const;

  // Hands out every probe due at `now`, in due order (ties: the order they were scheduled), and
  // marks those endpoints as being probed until their result is recorded.
  std::vector<ProbeTarget> takeDueProbes(TimePoint now);

  // takeDueProbes(now), then starts each probe through `prober`; each result is recorded at
  // `now` + its latency, so no clock is needed here. The checker must outlive those probes.
  void probeDue(Prober& prober, TimePoint now);

  // Records the result of a probe of `id` at `now` (whether or not it was handed out by
  // takeDueProbes), schedules the next probe and notifies observers if the state changed.
  // Errors: kNotFound.
  Status recordProbe(std::string_view id, const ProbeResult& result, TimePoint now);

  // Observers receive every change from now on; see Observer for the delivery contract. An
  // observer unsubscribed during a delivery may still receive that delivery's events.
  void subscribe(std::shared_ptr<Observer> observer);
  void unsubscribe(const Observer* observer);

  std::optional<HealthState> state(std::string_view id) const;
  std::optional<EndpointHealth> endpoint(std::string_view id) const;
  std::vector<EndpointHealth> endpoints() const;  // sorted by id
  std::size_t size() const;
  const HealthCheckConfig& config() const { return config_; }

 private:
  struct Entry;
  using Schedule = std::multimap<TimePoint, Entry*>;

  Entry* findLocked(std::string_view id) const;
  void scheduleLocked(Entry& entry);
  static EndpointHealth statusOf(const Entry& entry);

  const HealthCheckConfig config_;
  const std::unique_ptr<Notifier> notifier_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  Schedule schedule_;  // endpoints not being probed, by due time
};

// Builds a checker for `config`; errors name the offending field (see validate()).
Result<std::unique_ptr<HealthChecker>> makeHealthChecker(const HealthCheckConfig& config);

}  // namespace fairway::health
