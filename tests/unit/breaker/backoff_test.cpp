#include <vector>

#include <gtest/gtest.h>

#include <fairway/breaker/backoff.hpp>

#include "test_util.hpp"

namespace fairway::breaker {
namespace {

using namespace std::chrono_literals;

BackoffConfig exact(Duration base, double multiplier, Duration max) {
  return {.base = base, .multiplier = multiplier, .max = max, .jitter = Jitter::kNone};
}

std::vector<Duration> intervals(Backoff& backoff, int n) {
  std::vector<Duration> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.push_back(backoff.next());
  }
  return out;
}

// Without jitter: base × multiplier^k exactly, then the cap: 1s 2s 4s 8s 10s 10s.
TEST(BreakerBackoffTest, DoublesUpToTheCap) {
  Backoff backoff(exact(1s, 2.0, 10s), 1);
  EXPECT_EQ(intervals(backoff, 6), (std::vector<Duration>{1s, 2s, 4s, 8s, 10s, 10s}));
  EXPECT_EQ(backoff.trips(), 6);
}

// Non-integral multipliers are exact where binary floating point is: 1s 1.5s 2.25s 3.375s.
TEST(BreakerBackoffTest, FractionalMultiplier) {
  Backoff backoff(exact(1s, 1.5, 1h), 1);
  EXPECT_EQ(intervals(backoff, 4), (std::vector<Duration>{1s, 1500ms, 2250ms, 3375ms}));
}

// Multiplier 1 is a constant interval.
TEST(BreakerBackoffTest, MultiplierOneIsConstant) {
  Backoff backoff(exact(3s, 1.0, 3s), 1);
  EXPECT_EQ(intervals(backoff, 3), (std::vector<Duration>{3s, 3s, 3s}));
}

// ceiling() previews the next un-jittered interval without counting a trip.
TEST(BreakerBackoffTest, CeilingPreviewsNextInterval) {
  Backoff backoff(exact(1s, 2.0, 10s), 1);
  EXPECT_EQ(backoff.ceiling(), 1s);
  EXPECT_EQ(backoff.ceiling(), 1s);
  (void)backoff.next();
  EXPECT_EQ(backoff.ceiling(), 2s);
  EXPECT_EQ(backoff.trips(), 1);
}

// Thousands of trips stay at the cap: the growth cannot overflow.
TEST(BreakerBackoffTest, ManyTripsStayAtCap) {
  Backoff backoff(exact(1s, 10.0, 1h), 1);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_LE(backoff.next(), 1h);
  }
  EXPECT_EQ(backoff.next(), 1h);
}

// reset() restarts the sequence from base.
TEST(BreakerBackoffTest, ResetRestartsFromBase) {
  Backoff backoff(exact(1s, 2.0, 10s), 1);
  (void)intervals(backoff, 4);
  backoff.reset();
  EXPECT_EQ(backoff.trips(), 0);
  EXPECT_EQ(intervals(backoff, 3), (std::vector<Duration>{1s, 2s, 4s}));
}

// Full jitter: each interval is uniform in [0, min(max, base × 2^k)], so within those bounds,
// and spread over them rather than stuck at one end.
TEST(BreakerBackoffTest, FullJitterStaysWithinBounds) {
  const std::vector<Duration> ceilings = {1s, 2s, 4s, 8s, 10s, 10s};
  Duration smallest = 1h;
  Duration largest = 0s;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Backoff backoff({.base = 1s, .multiplier = 2.0, .max = 10s, .jitter = Jitter::kFull}, seed);
    for (const Duration ceiling : ceilings) {
      const Duration interval = backoff.next();
      ASSERT_GE(interval, 0s);
      ASSERT_LE(interval, ceiling);
      if (ceiling == 10s) {
        smallest = std::min(smallest, interval);
        largest = std::max(largest, interval);
      }
    }
  }
  EXPECT_LT(smallest, 1s);
  EXPECT_GT(largest, 9s);
}

// Equal jitter: each interval is in [ceiling / 2, ceiling].
TEST(BreakerBackoffTest, EqualJitterStaysWithinUpperHalf) {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Backoff backoff({.base = 1s, .multiplier = 2.0, .max = 10s, .jitter = Jitter::kEqual}, seed);
    for (const Duration ceiling : {1s, 2s, 4s, 8s, 10s}) {
      const Duration interval = backoff.next();
      ASSERT_GE(interval, ceiling / 2);
      ASSERT_LE(interval, ceiling);
    }
  }
}

// Same seed, same jittered sequence; another seed, another sequence.
TEST(BreakerBackoffTest, JitterIsDeterministicForASeed) {
  const BackoffConfig config{.base = 1s, .multiplier = 2.0, .max = 10s, .jitter = Jitter::kFull};
  Backoff a(config, 42);
  Backoff b(config, 42);
  Backoff c(config, 43);
  const std::vector<Duration> first = intervals(a, 8);
  EXPECT_EQ(first, intervals(b, 8));
  EXPECT_NE(first, intervals(c, 8));
}

}  // namespace
}  // namespace fairway::breaker
