#pragma once

#include <chrono>
#include <cstdint>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/decision.hpp>

namespace fairway::ratelimit {

using core::TimePoint;

// A token bucket (Envoy's TokenBucketImpl, Seastar's token_bucket): holds up to `burst` tokens,
// refills at `requestsPerSecond`, starts full. A request of `cost` passes iff `cost` tokens are
// there, and then takes them; a denied request takes nothing.
//
// Exact integer arithmetic: a token is T = 1 s / requestsPerSecond, in whole nanoseconds rounded up
// (so the rate is never exceeded; T is exact when 1e9 / rate is an integer: at 10/s a token comes
// back after exactly 100 ms, not at 99.999 ms), and tokens are counted in units of 1 ns of refill.
// Decision fields (limit = burst; see Decision): remaining = floor(tokens left); retryAfter = time
// until `cost` tokens are there; reset = time until the bucket is full.
//
// Allows exactly what Gcra allows for the same Rate, for every sequence of (cost, now), in order or
// not (an earlier `now` sees the tokens as they were then). Gcra keeps one int64 instead of two.
//
// One unkeyed quota (a route's, a listener's); for a quota per key use make(). Not thread-safe:
// serialise calls, or give each thread its own bucket. Never reads a clock.
class TokenBucket {
 public:
  // Precondition: validate() accepts a Config with this `rate` (requestsPerSecond in (0, 1e9],
  // burst >= 1, burst / requestsPerSecond at most 10 years); asserted, clamped in release builds.
  explicit TokenBucket(const Rate& rate);

  // Takes `cost` tokens if they are all there at `now`. cost > burst never passes (see Decision);
  // cost 0 takes nothing and reports the bucket (negative costs count as 0).
  Decision tryAcquire(std::int64_t cost, TimePoint now);

  std::int64_t limit() const { return burst_; }
  // T: the refill time of one token.
  std::chrono::nanoseconds interval() const { return std::chrono::nanoseconds(interval_); }

 private:
  std::int64_t burst_;
  std::int64_t interval_;   // T, ns
  std::int64_t tolerance_;  // burst × T: a full bucket, in units of 1 ns of refill
  std::int64_t credit_;     // tokens × T at last_
  std::int64_t last_;       // ns since the epoch; a sentinel until the first take
};

}  // namespace fairway::ratelimit
