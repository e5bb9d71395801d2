#include <functional>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fairway/breaker/breaker.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/breaker/version.hpp>

#include "test_util.hpp"

namespace fairway::breaker {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// The error make() gives for the default config changed by `change`.
Error errorFor(const std::function<void(Config&)>& change) {
  Config config;
  change(config);
  auto result = make(config);
  EXPECT_FALSE(result.ok()) << "expected an error";
  return result ? Error{ErrorCode::kInvalidArgument, "<no error>"} : result.error();
}

// The version CMake reads is a plain x.y.z.
TEST(BreakerConfigTest, VersionIsDeclared) {
  EXPECT_EQ(kVersion, "0.1.0");
}

// The defaults are a working breaker: 5 consecutive failures, 5s doubling up to 5m.
TEST(BreakerConfigTest, DefaultsAreValid) {
  const Config config;
  EXPECT_TRUE(validate(config).ok());
  EXPECT_TRUE(make(config).ok());
  EXPECT_EQ(config.consecutiveFailures, 5);
}

// Every documented option, set to a sensible value, passes.
TEST(BreakerConfigTest, FullConfigIsValid) {
  Config config;
  config.consecutiveFailures = 3;
  config.failureRate = FailureRateConfig{.threshold = 100};
  config.slowCall = SlowCallConfig{.duration = 2s, .threshold = 80};
  config.window = {
      .kind = WindowConfig::Kind::kTime, .duration = 10s, .buckets = 10, .minimumCalls = 1};
  config.backoff = {
      .base = 1s, .multiplier = 1.0, .max = 1s, .jitter = Jitter::kEqual, .resetAfter = 1ms};
  config.halfOpen = {.probes = 3, .successesToClose = 3};
  EXPECT_TRUE(validate(config).ok()) << validate(config).message();
}

// A count window's minimum may equal its size: the rate counts once the window is full.
TEST(BreakerConfigTest, MinimumCallsMayEqualWindowSize) {
  Config config;
  config.failureRate = FailureRateConfig{};
  config.window.size = 10;
  config.window.minimumCalls = 10;
  EXPECT_TRUE(validate(config).ok());
}

// Disabling every trip condition is refused: such a breaker could never open.
TEST(BreakerConfigTest, RejectsNoTripCondition) {
  const Error error = errorFor([](Config& c) { c.consecutiveFailures.reset(); });
  EXPECT_EQ(error.code, ErrorCode::kNeverTrips);
  EXPECT_THAT(error.message, HasSubstr("consecutive_failures, failure_rate, slow_call"));
}

// Zero or negative consecutive failures name the key and the value.
TEST(BreakerConfigTest, RejectsNonPositiveConsecutiveFailures) {
  EXPECT_EQ(errorFor([](Config& c) { c.consecutiveFailures = 0; }).message,
            "consecutive_failures: must be >= 1 (got 0)");
  EXPECT_EQ(errorFor([](Config& c) { c.consecutiveFailures = -3; }).code,
            ErrorCode::kInvalidArgument);
}

// A failure-rate threshold must be a reachable, non-zero percentage.
TEST(BreakerConfigTest, RejectsFailureRateThresholdOutsideZeroToHundred) {
  EXPECT_EQ(errorFor([](Config& c) { c.failureRate = FailureRateConfig{.threshold = 0}; }).message,
            "failure_rate.threshold: must be a percentage in (0, 100] (got 0)");
  EXPECT_EQ(
      errorFor([](Config& c) { c.failureRate = FailureRateConfig{.threshold = 150}; }).message,
      "failure_rate.threshold: must be a percentage in (0, 100] (got 150)");
  EXPECT_THAT(
      errorFor([](Config& c) { c.failureRate = FailureRateConfig{.threshold = -5}; }).message,
      HasSubstr("failure_rate.threshold"));
}

// The slow-call duration and rate are checked like the failure rate.
TEST(BreakerConfigTest, RejectsBadSlowCall) {
  EXPECT_EQ(errorFor([](Config& c) { c.slowCall = SlowCallConfig{.duration = 0s}; }).message,
            "slow_call.duration: must be > 0 (got 0s)");
  EXPECT_EQ(errorFor([](Config& c) { c.slowCall = SlowCallConfig{.duration = -2ms}; }).message,
            "slow_call.duration: must be > 0 (got -2ms)");
  EXPECT_EQ(errorFor([](Config& c) {
              c.slowCall = SlowCallConfig{.duration = 1s, .threshold = 100.5};
            }).message,
            "slow_call.threshold: must be a percentage in (0, 100] (got 100.5)");
}

// Count and time windows need positive sizes, durations and bucket counts.
TEST(BreakerConfigTest, RejectsBadWindowSizes) {
  EXPECT_EQ(errorFor([](Config& c) { c.window.size = 0; }).message,
            "window.size: must be in [1, 1000000] (got 0)");
  EXPECT_EQ(errorFor([](Config& c) {
              c.window.kind = WindowConfig::Kind::kTime;
              c.window.duration = -1s;
            }).message,
            "window.duration: must be > 0 (got -1s)");
  EXPECT_EQ(errorFor([](Config& c) {
              c.window.kind = WindowConfig::Kind::kTime;
              c.window.buckets = 0;
            }).message,
            "window.buckets: must be in [1, 10000] (got 0)");
  EXPECT_THAT(errorFor([](Config& c) {
                c.window.kind = WindowConfig::Kind::kTime;
                c.window.duration = 5ns;
                c.window.buckets = 10;
              }).message,
              HasSubstr("window.buckets: 10 buckets do not fit in window.duration 5ns"));
  EXPECT_EQ(errorFor([](Config& c) { c.window.minimumCalls = 0; }).message,
            "window.minimum_calls: must be >= 1 (got 0)");
}

// A minimum larger than the count window can never be reached: the rates would never trip.
TEST(BreakerConfigTest, RejectsMinimumCallsAboveCountWindowSize) {
  const Error error = errorFor([](Config& c) {
    c.failureRate = FailureRateConfig{};
    c.window.size = 10;
    c.window.minimumCalls = 11;
  });
  EXPECT_EQ(error.code, ErrorCode::kNeverTrips);
  EXPECT_EQ(error.message,
            "window.minimum_calls: 11 is more than window.size 10 calls, so the rates would never "
            "count");
}

// A time window has no call limit, so any minimum is reachable.
TEST(BreakerConfigTest, TimeWindowAcceptsLargeMinimumCalls) {
  Config config;
  config.failureRate = FailureRateConfig{};
  config.window = {.kind = WindowConfig::Kind::kTime, .size = 1, .minimumCalls = 5000};
  EXPECT_TRUE(validate(config).ok());
}

// Backoff: positive base, multiplier >= 1 and finite, max >= base, positive reset period.
TEST(BreakerConfigTest, RejectsBadBackoff) {
  EXPECT_EQ(errorFor([](Config& c) { c.backoff.base = 0s; }).message,
            "backoff.base: must be > 0 (got 0s)");
  EXPECT_EQ(errorFor([](Config& c) { c.backoff.multiplier = 0.5; }).message,
            "backoff.multiplier: must be >= 1 (got 0.5)");
  EXPECT_EQ(errorFor([](Config& c) {
              c.backoff.multiplier = std::numeric_limits<double>::infinity();
            }).message,
            "backoff.multiplier: must be finite");
  EXPECT_THAT(errorFor([](Config& c) {
                c.backoff.multiplier = std::numeric_limits<double>::quiet_NaN();
              }).message,
              HasSubstr("backoff.multiplier: must be >= 1"));
  EXPECT_EQ(errorFor([](Config& c) {
              c.backoff.base = 5s;
              c.backoff.max = 1500ms;
            }).message,
            "backoff.max: must be >= backoff.base 5s (got 1500ms)");
  EXPECT_EQ(errorFor([](Config& c) { c.backoff.resetAfter = -1min; }).message,
            "backoff.reset_after: must be > 0 (got -1m)");
}

// Half-open needs at least one probe, and cannot require more successes than probes.
TEST(BreakerConfigTest, RejectsBadHalfOpen) {
  EXPECT_EQ(errorFor([](Config& c) { c.halfOpen.probes = 0; }).message,
            "half_open.probes: must be in [1, 1000000] (got 0)");
  EXPECT_EQ(errorFor([](Config& c) {
              c.halfOpen.probes = 2;
              c.halfOpen.successesToClose = 3;
            }).message,
            "half_open.successes_to_close: must be in [1, half_open.probes = 2] (got 3)");
  EXPECT_THAT(errorFor([](Config& c) { c.halfOpen.successesToClose = 0; }).message,
              HasSubstr("half_open.successes_to_close"));
}

// Out-of-range enum values (e.g. from a cast in a config loader) are refused, not trusted.
TEST(BreakerConfigTest, RejectsUnknownEnumValues) {
  EXPECT_THAT(
      errorFor([](Config& c) { c.window.kind = static_cast<WindowConfig::Kind>(7); }).message,
      HasSubstr("window.kind"));
  EXPECT_THAT(errorFor([](Config& c) { c.backoff.jitter = static_cast<Jitter>(7); }).message,
              HasSubstr("backoff.jitter"));
}

// A null observer is refused by name.
TEST(BreakerConfigTest, RejectsNullObserver) {
  auto result = make(Config{}, {std::make_shared<test::RecordingObserver>(), nullptr});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "observers[1]: must not be null");
}

// Durations print in the largest unit that divides them.
TEST(BreakerConfigTest, FormatsDurations) {
  EXPECT_EQ(formatDuration(0s), "0s");
  EXPECT_EQ(formatDuration(2h), "2h");
  EXPECT_EQ(formatDuration(90s), "90s");
  EXPECT_EQ(formatDuration(5min), "5m");
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(7us), "7us");
  EXPECT_EQ(formatDuration(3ns), "3ns");
  EXPECT_EQ(formatDuration(-250ms), "-250ms");
}

}  // namespace
}  // namespace fairway::breaker
