#pragma once

// Shared by the rate-limit tests: a fixed origin for timelines and limiters known to be valid.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fairway/ratelimit/keyed_limiter.hpp>

namespace fairway::ratelimit::test {

using namespace std::chrono_literals;

// Every test's timeline starts here; nothing reads a clock. A whole number of seconds, so windows
// of a second (or any divisor of an hour) start exactly at t0.
inline const TimePoint t0 = TimePoint(std::chrono::hours(1));

// KeyedLimiter::make() for configurations the test knows to be valid: a failure is a broken test.
inline std::unique_ptr<KeyedLimiter> makeOrDie(const Config& config) {
  auto result = KeyedLimiter::make(config);
  if (!result) {
    std::fprintf(stderr, "make() failed: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

inline Config configFor(const std::string& algorithm, double requestsPerSecond,
                        std::int64_t burst) {
  Config config;
  config.algorithm = algorithm;
  config.rate = {requestsPerSecond, burst};
  return config;
}

// How many of `n` acquires of `cost` at `now` pass.
template <typename Quota>
int countAllowed(Quota& quota, int n, TimePoint now, std::int64_t cost = 1) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) {
    allowed += quota.tryAcquire(cost, now).allowed ? 1 : 0;
  }
  return allowed;
}

}  // namespace fairway::ratelimit::test
