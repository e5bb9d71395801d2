#pragma once

// The algorithms' arithmetic, private to the library: shared by the unkeyed value types
// (TokenBucket, Gcra, SlidingWindow) and the keyed table, so both decide alike to the nanosecond.
// Instants are int64 nanoseconds since the clock's epoch and every quantity is an exact integer: no
// floating point after configuration, so a test can pin a decision to the nanosecond.

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/decision.hpp>

namespace fairway::ratelimit::internal {

__extension__ typedef __int128 Int128;

// State that has never taken anything: its quota is whole at every instant.
inline constexpr std::int64_t kNeverUsed = std::numeric_limits<std::int64_t>::min();

// validate() bounds a full burst's refill time (burst × T) and the sliding window to this, so an
// instant plus two such spans stays far inside int64 for any steady-clock reading.
inline constexpr std::int64_t kMaxSpanNs = std::int64_t{10} * 365 * 24 * 3600 * 1'000'000'000;
inline constexpr double kMaxRequestsPerSecond = 1e9;  // T >= 1 ns

// T = 1 s / requestsPerSecond in whole nanoseconds, rounded up so that the configured rate is never
// exceeded (exact whenever 1e9 / rate is an integer: 1, 2, 4, 5, 8, 10, ..., 1000, ... per second).
// A quotient within a few ulps of an integer is taken as that integer, so 1e9 / (1e9 / 7) is 7.
inline std::int64_t emissionInterval(double requestsPerSecond) {
  assert(requestsPerSecond > 0 && requestsPerSecond <= kMaxRequestsPerSecond);
  if (!(requestsPerSecond > 0)) {  // NaN or <= 0: a broken precondition; stay finite
    return kMaxSpanNs;
  }
  const double x = 1e9 / requestsPerSecond;
  if (!(x < static_cast<double>(kMaxSpanNs))) {
    return kMaxSpanNs;
  }
  const double nearest = std::round(x);
  const double t = std::abs(x - nearest) <= 8 * std::numeric_limits<double>::epsilon() * x
                       ? nearest
                       : std::ceil(x);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(t));
}

// The token bucket's and GCRA's shared parameters.
struct BucketLimit {
  std::int64_t burst = 1;      // the limit: requests that may pass at once
  std::int64_t interval = 1;   // T: ns of refill per request
  std::int64_t tolerance = 1;  // burst × T: ns of refill that make the quota whole

  // Precondition: validate() accepts `rate`. Out-of-range values are clamped, never overflow.
  static BucketLimit of(const Rate& rate) {
    assert(rate.burst >= 1);
    BucketLimit l;
    l.interval = emissionInterval(rate.requestsPerSecond);
    l.burst = std::clamp<std::int64_t>(rate.burst, 1, kMaxSpanNs / l.interval);
    l.tolerance = l.burst * l.interval;
    return l;
  }
};

// The decision for a quota holding `credit` ns of refill at `now` (tolerance = whole; negative
// when `now` is earlier than the instant the state was last updated at). Sets `take` when `cost`
// is to be taken. Both bucket algorithms reduce to this, hence their exact agreement.
inline Decision bucketDecision(const BucketLimit& l, std::int64_t credit, std::int64_t cost,
                               bool& take) {
  Decision d;
  d.limit = l.burst;
  take = false;
  if (cost <= l.burst) {
    const std::int64_t need = cost * l.interval;
    if (credit >= need) {
      d.allowed = true;
      take = cost > 0;
      credit -= need;
    } else {
      d.retryAfter = std::chrono::nanoseconds(need - credit);
    }
  }
  d.remaining = credit > 0 ? credit / l.interval : 0;
  d.reset = std::chrono::nanoseconds(l.tolerance - credit);
  if (cost > l.burst) {
    d.retryAfter = d.reset;  // never passes; see Decision
  }
  return d;
}

// GCRA: the state is the theoretical arrival time (TAT); the quota at `now` is
// tolerance − max(0, TAT − now).
struct GcraKernel {
  using State = std::int64_t;  // TAT, ns; kNeverUsed: whole
  BucketLimit limit;

  static State fresh() { return kNeverUsed; }

  std::int64_t credit(State tat, std::int64_t now) const {
    return tat <= now ? limit.tolerance : limit.tolerance - (tat - now);
  }

  Decision acquire(State& tat, std::int64_t cost, std::int64_t now) const {
    bool take = false;
    const Decision d = bucketDecision(limit, credit(tat, now), cost, take);
    if (take) {
      tat = std::max(tat, now) + cost * limit.interval;
    }
    return d;
  }

  // What forgetting the key would forgive, in ns of refill; 0 when its quota is whole.
  static std::int64_t debt(State tat, std::int64_t now) { return std::max(tat, now) - now; }
};

// Token bucket: tokens in fixed point, one unit per nanosecond of refill (a token is T units), and
// the instant they were counted at. Elapsed time is signed: an earlier `now` sees fewer tokens, as
// it would have then, which keeps the bucket equal to GCRA when callers' instants interleave.
struct TokenBucketKernel {
  struct State {
    std::int64_t credit = 0;         // tokens × T at `last`, <= tolerance
    std::int64_t last = kNeverUsed;  // kNeverUsed: full
  };
  BucketLimit limit;

  static State fresh() { return {}; }

  std::int64_t credit(const State& s, std::int64_t now) const {
    if (s.last == kNeverUsed) {
      return limit.tolerance;
    }
    const std::int64_t elapsed = now - s.last;
    return elapsed >= limit.tolerance - s.credit ? limit.tolerance : s.credit + elapsed;
  }

  Decision acquire(State& s, std::int64_t cost, std::int64_t now) const {
    const std::int64_t available = credit(s, now);
    bool take = false;
    const Decision d = bucketDecision(limit, available, cost, take);
    if (take) {
      s.credit = available - cost * limit.interval;
      s.last = now;
    }
    return d;
  }

  // What forgetting the key would forgive, in ns of refill; 0 when its quota is whole.
  std::int64_t debt(const State& s, std::int64_t now) const {
    return s.last == kNeverUsed
               ? 0
               : std::max<std::int64_t>(0, limit.tolerance - s.credit - (now - s.last));
  }
};

// The sliding window's parameters: `limit` requests per `window` ns.
struct WindowLimit {
  std::int64_t limit = 1;
  std::int64_t window = 1;

  static WindowLimit of(std::int64_t limit, std::chrono::nanoseconds window) {
    assert(limit >= 1 && window.count() >= 1);
    return {std::max<std::int64_t>(1, limit),
            std::clamp<std::int64_t>(window.count(), 1, kMaxSpanNs)};
  }
};

// n / d for 0 <= n, 0 < d, in 64-bit arithmetic whenever n fits (a 128-bit division is a call
// into libgcc).
inline std::int64_t divide(Int128 n, std::int64_t d) {
  return n <= std::numeric_limits<std::int64_t>::max() ? static_cast<std::int64_t>(n) / d
                                                       : static_cast<std::int64_t>(n / d);
}

// Cloudflare's sliding window ("How we built rate limiting capable of scaling to millions of
// domains", 2017): counts in the current and the previous fixed window (windows start at multiples
// of `window` since the epoch); estimate = previous × (1 − elapsed / window) + current. Counts are
// `Count`s: the keyed table stores 32-bit ones when the limit fits, 16 bytes of state per key.
template <typename Count>
struct SlidingWindowKernel {
  struct State {
    std::int64_t index = kNeverUsed;  // the current window: its start is index × window
    Count previous = 0;
    Count current = 0;
  };
  WindowLimit limit;

  static State fresh() { return {}; }

  static std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
  }

  // Moves `s` to the window holding `now` and returns the time elapsed in it. An instant earlier
  // than the state's window (callers' instants interleave) counts as that window's start; `lag`
  // is then how much earlier it is.
  std::int64_t roll(State& s, std::int64_t now, std::int64_t& lag) const {
    lag = 0;
    // Most calls land in the state's window or the next: no division.
    if (s.index != kNeverUsed) {
      const std::int64_t sinceStart = now - s.index * limit.window;
      if (sinceStart >= 0 && sinceStart < limit.window) {
        return sinceStart;
      }
      if (sinceStart >= limit.window && sinceStart - limit.window < limit.window) {
        s.previous = s.current;
        s.current = 0;
        s.index += 1;
        return sinceStart - limit.window;
      }
    }
    const std::int64_t index = floorDiv(now, limit.window);
    if (s.index == kNeverUsed || index > s.index) {
      s.previous = (s.index != kNeverUsed && index == s.index + 1) ? s.current : 0;
      s.current = 0;
      s.index = index;
    } else if (index < s.index) {
      lag = s.index * limit.window - now;
      return 0;
    }
    return now - index * limit.window;
  }

  // previous × (window − elapsed) + current × window: the estimate scaled by the window.
  Int128 scaledEstimate(const State& s, std::int64_t elapsed) const {
    return Int128{std::int64_t{s.previous}} * (limit.window - elapsed) +
           Int128{std::int64_t{s.current}} * limit.window;
  }

  Decision acquire(State& s, std::int64_t cost, std::int64_t now) const {
    std::int64_t lag = 0;
    const std::int64_t e = roll(s, now, lag);
    const Int128 w = limit.window;
    Int128 used = scaledEstimate(s, e);
    Decision d;
    d.limit = limit.limit;
    if (cost <= limit.limit) {
      if (used + Int128{cost} * w <= Int128{limit.limit} * w) {
        d.allowed = true;
        s.current = static_cast<Count>(std::int64_t{s.current} + cost);
        used += Int128{cost} * w;
      } else {
        d.retryAfter = std::chrono::nanoseconds(lag + retryAfter(s, cost, e));
      }
    }
    const Int128 room = Int128{limit.limit} * w - used;
    d.remaining = room > 0 ? divide(room, limit.window) : 0;
    const std::int64_t reset = s.current > 0    ? (limit.window - e) + limit.window
                               : s.previous > 0 ? limit.window - e
                                                : 0;
    d.reset = std::chrono::nanoseconds(reset == 0 ? 0 : lag + reset);
    if (cost > limit.limit) {
      d.retryAfter = d.reset;  // never passes; see Decision
    }
    return d;
  }

  // Time from elapsed `e` until `cost` fits, if nothing else arrives. Precondition: cost <= limit
  // and it does not fit now.
  std::int64_t retryAfter(const State& s, std::int64_t cost, std::int64_t e) const {
    const std::int64_t spare = limit.limit - std::int64_t{s.current} - cost;
    if (spare >= 0) {
      // In this window, once previous × (window − e') <= spare × window (previous > 0 here, or
      // the request would fit).
      return limit.window - divide(Int128{spare} * limit.window, s.previous) - e;
    }
    // In the next window, where this window's count (> 0 here) becomes the previous one.
    const std::int64_t fitsAt =
        limit.window - divide(Int128{limit.limit - cost} * limit.window, s.current);
    return (limit.window - e) + fitsAt;
  }

  // The estimate × window that forgetting the key would forgive; 0 when its quota is whole.
  Int128 debt(const State& state, std::int64_t now) const {
    State s = state;
    std::int64_t lag = 0;
    const std::int64_t e = roll(s, now, lag);
    return scaledEstimate(s, e);
  }
};

}  // namespace fairway::ratelimit::internal
