#pragma once

#include <chrono>
#include <cstdint>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/decision.hpp>

namespace fairway::ratelimit {

using core::TimePoint;

// GCRA, the generic cell rate algorithm (ITU-T I.371 / ATM Forum TM 4.0; Brandur Leach, "Rate
// Limiting, Cells, and GCRA", 2015): the token bucket's limit kept as one timestamp, the
// theoretical arrival time (TAT). Emission interval T = 1 s / requestsPerSecond (whole ns, rounded
// up, as in TokenBucket), tolerance τ = burst × T. A request of `cost` at `now` passes iff
//   max(TAT, now) + cost × T − now <= τ,
// and then TAT = max(TAT, now) + cost × T; a denied request changes nothing. Starts full.
//
// Decision fields (limit = burst; see Decision): remaining = floor((τ − max(0, TAT' − now)) / T);
// retryAfter = max(TAT, now) + cost × T − τ − now; reset = max(0, TAT' − now), with TAT' the TAT
// after this decision. The same limit and the same answers as TokenBucket, exactly; the same
// formulas as the Redis-backed limiter's script.
//
// One unkeyed quota; for a quota per key use make() (one int64 per key). Not thread-safe:
// serialise calls, or give each thread its own. Never reads a clock.
class Gcra {
 public:
  // Precondition: as TokenBucket's (validate() accepts a Config with this `rate`).
  explicit Gcra(const Rate& rate);

  // Takes `cost` if it all fits at `now`. cost > burst never passes (see Decision); cost 0 takes
  // nothing and reports the quota (negative costs count as 0).
  Decision tryAcquire(std::int64_t cost, TimePoint now);

  std::int64_t limit() const { return burst_; }
  std::chrono::nanoseconds interval() const { return std::chrono::nanoseconds(interval_); }
  // The theoretical arrival time: the quota is whole from this instant on (TimePoint::min() before
  // the first take).
  TimePoint theoreticalArrival() const { return TimePoint(std::chrono::nanoseconds(tat_)); }

 private:
  std::int64_t burst_;
  std::int64_t interval_;   // T, ns
  std::int64_t tolerance_;  // τ = burst × T, ns
  std::int64_t tat_;        // ns since the epoch
};

}  // namespace fairway::ratelimit
