#pragma once

#include <chrono>
#include <cstdint>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/decision.hpp>

namespace fairway::ratelimit {

using core::TimePoint;

// Cloudflare's sliding window counter ("How we built rate limiting capable of scaling to millions
// of domains", 2017): `limit` requests per `window`, estimated from two counts. Windows are fixed,
// starting at multiples of `window` since the clock's epoch; at `elapsed` into the current one
//   estimate = previous × (1 − elapsed / window) + current,
// where previous counts the window before (zero if that one saw nothing or is further back). A
// request of `cost` passes iff estimate + cost <= limit, and then adds `cost` to current. Starts
// empty. Computed exactly, in integers scaled by the window (no rounding).
//
// Config: `limit` is Rate::burst, `window` Config::window; requestsPerSecond is not used. The
// estimate assumes the previous window's requests were spread evenly: a `window`-long span sees
// fewer than `limit` when they came early in it, and up to nearly 2 × `limit` when they all came at
// its very end (Cloudflare measured 0.003% of requests wrongly allowed or denied on real traffic).
// Use a bucket where the bound must be hard.
//
// Decision fields (see Decision): limit = `limit`; remaining = floor(limit − estimate) after this
// decision; retryAfter = time until estimate + cost <= limit if nothing else arrives (later in
// this window as the previous count fades, or in the next, where the current count becomes the
// previous); reset = time until the estimate is zero: end of the next window if the current count
// is non-zero, else end of this window if the previous one is, else zero. An instant earlier than
// the window already reached (callers' instants interleave) is taken as that window's start.
//
// One unkeyed quota; for a quota per key use make(). Not thread-safe: serialise calls, or give each
// thread its own. Never reads a clock.
class SlidingWindow {
 public:
  // Precondition: limit >= 1 and window in [1 ns, 10 years] (as validate() checks
  // Rate::burst and Config::window); asserted, clamped in release builds.
  SlidingWindow(std::int64_t limit, std::chrono::nanoseconds window);

  // Adds `cost` to the current window if the estimate leaves room. cost > limit never passes (see
  // Decision); cost 0 takes nothing and reports the window (negative costs count as 0).
  Decision tryAcquire(std::int64_t cost, TimePoint now);

  std::int64_t limit() const { return limit_; }
  std::chrono::nanoseconds window() const { return std::chrono::nanoseconds(window_); }

 private:
  std::int64_t limit_;
  std::int64_t window_;    // ns
  std::int64_t index_;     // the current window: it starts at index_ × window_
  std::int64_t previous_;  // requests counted in window index_ − 1
  std::int64_t current_;   // requests counted in window index_
};

}  // namespace fairway::ratelimit
