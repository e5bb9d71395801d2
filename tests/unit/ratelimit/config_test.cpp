#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/ratelimit/keyed_limiter.hpp>
#include <fairway/ratelimit/limiter.hpp>

#include "test_util.hpp"

namespace fairway::ratelimit {
namespace {

using namespace std::chrono_literals;

// The message validate() gives for `config`, or "ok".
std::string messageFor(const Config& config) {
  const Status status = validate(config);
  return status.ok() ? "ok" : status.message();
}

// The default configuration, and each algorithm with it, is valid.
TEST(ConfigTest, DefaultsAreValid) {
  EXPECT_EQ(messageFor(Config{}), "ok");
  for (const std::string& algorithm : algorithmNames()) {
    Config config;
    config.algorithm = algorithm;
    EXPECT_EQ(messageFor(config), "ok") << algorithm;
  }
  EXPECT_EQ(algorithmNames(), (std::vector<std::string>{"token_bucket", "gcra", "sliding_window"}));
}

// An unknown algorithm is named, with the known ones.
TEST(ConfigTest, UnknownAlgorithmIsNamed) {
  Config config;
  config.algorithm = "x";

  const Status status = validate(config);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnknownAlgorithm);
  EXPECT_EQ(status.message(),
            "rate_limit.algorithm: unknown algorithm 'x' (known: token_bucket, gcra, "
            "sliding_window)");
}

// Zero, negative, NaN, infinite and sub-nanosecond rates are refused, naming the field.
TEST(ConfigTest, BadRatesAreRefused) {
  Config config;
  config.rate.requestsPerSecond = 0;
  EXPECT_EQ(messageFor(config), "rate_limit.requests_per_second: must be > 0 (got 0)");
  config.rate.requestsPerSecond = -5;
  EXPECT_EQ(messageFor(config), "rate_limit.requests_per_second: must be > 0 (got -5)");
  config.rate.requestsPerSecond = std::nan("");
  EXPECT_EQ(messageFor(config), "rate_limit.requests_per_second: must be > 0 (got nan)");
  config.rate.requestsPerSecond = std::numeric_limits<double>::infinity();
  EXPECT_EQ(messageFor(config),
            "rate_limit.requests_per_second: must be at most 1e9, one per nanosecond (got inf)");
  config.rate.requestsPerSecond = 2e9;
  EXPECT_EQ(messageFor(config),
            "rate_limit.requests_per_second: must be at most 1e9, one per nanosecond (got 2e+09)");
  config.rate.requestsPerSecond = 0.25;
  EXPECT_EQ(messageFor(config), "ok");
  EXPECT_EQ(validate(Config{.rate = {0, 1}}).error().code, ErrorCode::kInvalidArgument);
}

// A burst below one is refused; so is one that takes more than ten years to refill (for the
// algorithms that refill), which keeps the arithmetic far from overflow.
TEST(ConfigTest, BadBurstsAreRefused) {
  Config config;
  config.rate.burst = 0;
  EXPECT_EQ(messageFor(config), "rate_limit.burst: must be >= 1 (got 0)");
  config.rate.burst = -3;
  EXPECT_EQ(messageFor(config), "rate_limit.burst: must be >= 1 (got -3)");

  config.rate = {1e-3, 1'000'000};  // 1e9 s
  EXPECT_EQ(messageFor(config),
            "rate_limit.burst: refilling a whole burst (burst / requests_per_second) must take at "
            "most 10 years (got 1e+09 s)");
  config.algorithm = "gcra";
  EXPECT_NE(messageFor(config), "ok");
  config.rate = {1, 315'360'000};  // exactly ten years of 365 days
  EXPECT_EQ(messageFor(config), "ok");
  config.rate.burst += 1;
  EXPECT_EQ(messageFor(config).rfind("rate_limit.burst: refilling a whole burst", 0), 0u);
  config.algorithm = "sliding_window";  // requests_per_second plays no part in it
  EXPECT_EQ(messageFor(config), "ok");
}

// The window must be positive and at most ten years, whatever the algorithm.
TEST(ConfigTest, BadWindowsAreRefused) {
  Config config;
  config.algorithm = "sliding_window";
  config.window = 0s;
  EXPECT_EQ(messageFor(config), "rate_limit.window: must be > 0 (got 0ns)");
  config.window = -1ms;
  EXPECT_EQ(messageFor(config), "rate_limit.window: must be > 0 (got -1000000ns)");
  config.window = std::chrono::hours(24 * 365 * 11);
  EXPECT_EQ(messageFor(config).rfind("rate_limit.window: must be at most 10 years", 0), 0u);
  config.window = 1ns;
  EXPECT_EQ(messageFor(config), "ok");
}

// max_keys must be at least one and leave the table a sane size.
TEST(ConfigTest, BadMaxKeysAreRefused) {
  Config config;
  config.maxKeys = 0;
  EXPECT_EQ(messageFor(config), "rate_limit.max_keys: must be in [1, 268435456] (got 0)");
  config.maxKeys = std::size_t{1} << 40;
  EXPECT_EQ(messageFor(config).rfind("rate_limit.max_keys: must be in [1, 268435456]", 0), 0u);
}

// shards must be a power of two.
TEST(ConfigTest, ShardsMustBeAPowerOfTwo) {
  Config config;
  for (std::size_t shards :
       {std::size_t{0}, std::size_t{3}, std::size_t{96}, std::size_t{1} << 17}) {
    config.shards = shards;
    EXPECT_EQ(messageFor(config).rfind("rate_limit.shards: must be a power of two", 0), 0u)
        << shards;
  }
  config.shards = 3;
  EXPECT_EQ(messageFor(config), "rate_limit.shards: must be a power of two in [1, 65536] (got 3)");
  config.shards = 1;
  EXPECT_EQ(messageFor(config), "ok");
}

// make() and KeyedLimiter::make() refuse what validate() refuses, with the same error.
TEST(ConfigTest, MakeRefusesWhatValidateRefuses) {
  Config config;
  config.rate.burst = 0;

  auto limiter = make(config);
  ASSERT_FALSE(limiter.ok());
  EXPECT_EQ(limiter.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(limiter.error().message, "rate_limit.burst: must be >= 1 (got 0)");

  config = Config{};
  config.algorithm = "leaky";
  auto keyed = KeyedLimiter::make(config);
  ASSERT_FALSE(keyed.ok());
  EXPECT_EQ(keyed.error().code, ErrorCode::kUnknownAlgorithm);
}

}  // namespace
}  // namespace fairway::ratelimit
