#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <fairway/health/config.hpp>
#include <fairway/health/observer.hpp>
#include <fairway/health/prober.hpp>
#include <fairway/health/time.hpp>

namespace fairway::health {

// A change of state made by one probe result.
struct Transition {
  HealthState from = HealthState::kUp;
  HealthState to = HealthState::kUp;
  Reason reason = Reason::kProbesFailed;

  bool operator==(const Transition&) const = default;
};

// The active-check state machine and probe schedule of one endpoint (HAProxy's per-server check):
// up or down, the results in a row still needed to change state, and when the next probe is due.
// A plain value, not thread-safe; HealthChecker keeps one per endpoint under its lock. Never reads
// a clock.
//
// Up goes down after `fall` failed probes in a row, down goes up after `rise` successful ones; a
// result that agrees with the current state starts the count over. The next probe is due one
// delay after each result: `interval` when up, `fastInterval` while a change is in progress (a
// disagreeing result was seen), `downInterval` when down, each jittered.
class ActiveCheck {
 public:
  // Trusts `config` (validate() it first). The first probe is due at `now` plus a jitter of up to
  // jitterPercent of an interval.
  ActiveCheck(const HealthCheckConfig& config, InitialState initial, TimePoint now,
              std::uint64_t seed);

  // Applies one probe result at `now`: updates the state and schedules the next probe. Returns
  // the change of state it made, if any.
  std::optional<Transition> recordProbe(const ProbeResult& result, TimePoint now);

  HealthState state() const { return up_ ? HealthState::kUp : HealthState::kDown; }
  bool up() const { return up_; }
  // Results in a row, disagreeing with the current state, still needed to change it: from `fall`
  // (up) or `rise` (down) down to 1.
  int remaining() const { return remaining_; }
  // True while a change is in progress: fewer than the full `fall` / `rise` remain.
  bool transitioning() const { return remaining_ < (up_ ? fall_ : rise_); }
  // When the next probe is due, at the earliest `now`: a probe already overdue is due now.
  TimePoint nextProbeAt(TimePoint now) const { return dueAt_ > now ? dueAt_ : now; }
  // When the next probe is due, as scheduled (possibly before the current time).
  TimePoint dueAt() const { return dueAt_; }
  // The delay before the next probe in the current state, before jitter.
  std::chrono::nanoseconds currentInterval() const;

 private:
  std::chrono::nanoseconds jittered(std::chrono::nanoseconds delay);

  const int rise_;
  const int fall_;
  const std::chrono::nanoseconds interval_;
  const std::chrono::nanoseconds fastInterval_;
  const std::chrono::nanoseconds downInterval_;
  const double jitter_;  // a fraction in [0, 0.5]
  Random random_;
  bool up_;
  int remaining_;
  TimePoint dueAt_;
};

}  // namespace fairway::health
