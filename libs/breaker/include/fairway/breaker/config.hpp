#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <fairway/breaker/status.hpp>
#include <fairway/core/time.hpp>

namespace fairway::breaker {

using core::Clock;
using core::Duration;
using core::TimePoint;

// Upper bounds that keep one breaker's memory small and fixed (a count window costs 2 bits a call).
inline constexpr std::int64_t kMaxWindowSize = 1'000'000;
inline constexpr std::int64_t kMaxWindowBuckets = 10'000;
inline constexpr std::int64_t kMaxProbes = 1'000'000;

// The calls the rate conditions (failure_rate, slow_call) look at. Ignored outcomes never enter it.
struct WindowConfig {
  enum class Kind {
    kCount,  // the last `size` calls
    kTime,   // the calls of the last `duration`, counted in `buckets` slices
  };
  Kind kind = Kind::kCount;
  std::int64_t size = 100;                       // kCount: calls, in [1, kMaxWindowSize]
  Duration duration = std::chrono::seconds(60);  // kTime: > 0
  std::int64_t buckets = 10;                     // kTime: in [1, kMaxWindowBuckets]
  // The rates count only once the window holds at least this many calls; >= 1 and, for a count
  // window, <= size (a larger value could never be reached).
  std::int64_t minimumCalls = 20;
};

// Trip when failures / calls in the window >= threshold percent (resilience4j's rule).
struct FailureRateConfig {
  double threshold = 50.0;  // percent, in (0, 100]
};

// A call that takes at least `duration` is slow, whatever its outcome. Trip when slow calls /
// calls in the window >= threshold percent. In half-open, a slow probe counts as a failed one.
struct SlowCallConfig {
  Duration duration = std::chrono::seconds(5);  // > 0
  double threshold = 100.0;                     // percent, in (0, 100]
};

// How the open interval grows with consecutive trips.
enum class Jitter {
  kNone,   // exactly the computed interval
  kFull,   // uniform in [0, computed] (AWS Architecture Blog, "Exponential Backoff and Jitter",
           // 2015): the best spread, but an interval may come out close to zero
  kEqual,  // computed/2 + uniform in [0, computed/2]: half the spread, never below half
};

// The k-th consecutive trip (k = 0 for the first) opens the breaker for
// min(max, base × multiplier^k), then jittered. A trip is consecutive to the previous one unless
// the breaker stayed closed for at least `resetAfter` in between; then k starts again from 0.
struct BackoffConfig {
  Duration base = std::chrono::seconds(5);  // > 0
  double multiplier = 2.0;                  // finite, >= 1
  Duration max = std::chrono::minutes(5);   // >= base
  Jitter jitter = Jitter::kNone;
  Duration resetAfter = std::chrono::minutes(5);  // > 0: the healthy period that resets k
};

// Half-open admits `probes` calls in all (an Ignored probe gives its slot back). Once
// `successesToClose` of them have succeeded the breaker closes; any failed (or, with slow_call
// enabled, slow) probe opens it again for the next, longer interval.
struct HalfOpenConfig {
  std::int64_t probes = 1;                       // in [1, kMaxProbes]
  std::optional<std::int64_t> successesToClose;  // in [1, probes]; unset: all `probes`
};

// One endpoint's breaker. Each trip condition is optional: unset disables it; at least one must be
// set. Field names in error messages are the configuration file's keys (snake_case).
struct Config {
  std::optional<std::int64_t> consecutiveFailures = 5;  // trip after this many in a row, >= 1
  std::optional<FailureRateConfig> failureRate;         // trip on the window's failure rate
  std::optional<SlowCallConfig> slowCall;               // trip on the window's slow-call rate
  WindowConfig window;
  BackoffConfig backoff;
  HalfOpenConfig halfOpen;
  // Seeds the jitter. Give each endpoint's breaker its own seed (e.g. core::hashKey(endpoint id)
  // mixed with a per-process seed): breakers with one seed that trip together reopen together.
  std::uint64_t seed = 0x5eed;
};

// Checks `config` as make() does; the message of an error names the offending key,
// e.g. "backoff.multiplier: must be >= 1 (got 0.5)". Codes: kInvalidArgument, kNeverTrips.
Status validate(const Config& config);

// "5s", "1500ms", "2m", "0s": a duration in the largest unit that divides it, as error messages and
// transition details print it.
std::string formatDuration(Duration duration);

}  // namespace fairway::breaker
