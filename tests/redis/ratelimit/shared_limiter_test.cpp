// fairway::ratelimit::redis::SharedLimiter against a real redis-server on a free loopback port.

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/ratelimit/redis/shared_limiter.hpp>

#include "redis_server.hpp"

namespace fairway::ratelimit::redis {
namespace {

using namespace std::chrono_literals;

class SharedLimiterTest : public ::testing::Test {
 protected:
  Config limit(double rps, std::int64_t burst) {
    Config config;
    config.algorithm = "gcra";
    config.rate = {rps, burst};
    return config;
  }
  RedisConfig redisConfig(RedisConfig::Mode mode = RedisConfig::Mode::kExact) {
    RedisConfig config;
    config.port = server_.port();
    config.mode = mode;
    config.keyPrefix =
        "test:" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        ":";
    return config;
  }
  std::unique_ptr<SharedLimiter> makeLimiter(const Config& limit, const RedisConfig& redis) {
    auto made = SharedLimiter::make(limit, redis);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return std::move(made).value();
  }

  fairway::testing::RedisServer server_;
  const TimePoint t0 = TimePoint(std::chrono::hours(1));
};

// Exact mode: the burst passes at once, the next request is denied with a Retry-After of about one
// emission interval, and remaining counts down.
TEST_F(SharedLimiterTest, ExactModeAdmitsTheBurstThenDenies) {
  auto limiter = makeLimiter(limit(10, 5), redisConfig());
  for (std::int64_t i = 0; i < 5; ++i) {
    const Decision d = limiter->tryAcquire("client", 1, t0);
    ASSERT_TRUE(d.allowed) << "request " << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);
  }
  const Decision denied = limiter->tryAcquire("client", 1, t0);
  EXPECT_FALSE(denied.allowed);
  // One interval is 100 ms, minus the time the calls took; the quota is whole again in 500 ms.
  EXPECT_GT(denied.retryAfter, 0ms);
  EXPECT_LE(denied.retryAfter, 100ms);
  EXPECT_GT(denied.reset, denied.retryAfter);
  EXPECT_LE(denied.reset, 500ms);
  EXPECT_FALSE(limiter->degraded());
  // Keys are independent.
  EXPECT_TRUE(limiter->tryAcquire("other-client", 1, t0).allowed);
}

// A cost above one takes that many tokens, and a cost that does not fit takes nothing.
TEST_F(SharedLimiterTest, CostTakesThatManyTokens) {
  auto limiter = makeLimiter(limit(1, 10), redisConfig());
  EXPECT_TRUE(limiter->tryAcquire("k", 7, t0).allowed);
  EXPECT_FALSE(limiter->tryAcquire("k", 4, t0).allowed);
  const Decision d = limiter->tryAcquire("k", 3, t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
}

// Batched mode answers most decisions from a local lease and still never exceeds the quota.
TEST_F(SharedLimiterTest, BatchedModeLeasesAndStaysWithinTheQuota) {
  RedisConfig redis = redisConfig(RedisConfig::Mode::kBatched);
  redis.batch = 5;
  auto limiter = makeLimiter(limit(1, 20), redis);
  int allowed = 0;
  for (int i = 0; i < 40; ++i) {
    allowed += limiter->tryAcquire("k", 1, t0).allowed ? 1 : 0;
  }
  EXPECT_EQ(allowed, 20);
  const SharedLimiterStats stats = limiter->stats();
  EXPECT_GE(stats.localDecisions, 15u);
  EXPECT_LE(stats.redisCalls, 25u);
}

// Three limiters (three proxy instances) on one Redis hold one global limit within 5%.
void expectGlobalLimitHolds(const Config& limit, const RedisConfig& redis) {
  std::vector<std::unique_ptr<SharedLimiter>> instances;
  for (int i = 0; i < 3; ++i) {
    instances.push_back(std::move(SharedLimiter::make(limit, redis)).value());
  }
  std::atomic<std::int64_t> allowed{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + 1500ms;
  std::vector<std::thread> threads;
  for (auto& instance : instances) {
    threads.emplace_back([&, limiter = instance.get()] {
      while (std::chrono::steady_clock::now() < end) {
        const auto now = std::chrono::steady_clock::now();
        allowed += limiter->tryAcquire("global", 1, now).allowed ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double expected =
      static_cast<double>(limit.rate.burst) + limit.rate.requestsPerSecond * elapsed;
  EXPECT_NEAR(static_cast<double>(allowed.load()), expected, 0.05 * expected)
      << "elapsed " << elapsed << " s";
  for (auto& instance : instances) {
    EXPECT_FALSE(instance->degraded());
  }
}

TEST_F(SharedLimiterTest, ThreeInstancesHoldTheGlobalLimitExact) {
  expectGlobalLimitHolds(limit(400, 40), redisConfig());
}

TEST_F(SharedLimiterTest, ThreeInstancesHoldTheGlobalLimitBatched) {
  RedisConfig redis = redisConfig(RedisConfig::Mode::kBatched);
  redis.batch = 4;
  expectGlobalLimitHolds(limit(400, 40), redis);
}

// Redis killed mid-run: fail-open allows, fail-closed denies, kLocal enforces the limit locally;
// when Redis returns, decisions come from it again after the retry interval.
TEST_F(SharedLimiterTest, FailModesWhileRedisIsDownAndRecovery) {
  RedisConfig open = redisConfig();
  RedisConfig closed = redisConfig();
  closed.failMode = RedisConfig::FailMode::kClosed;
  RedisConfig local = redisConfig();
  local.failMode = RedisConfig::FailMode::kLocal;
  auto failOpen = makeLimiter(limit(1, 2), open);
  auto failClosed = makeLimiter(limit(1, 2), closed);
  auto failLocal = makeLimiter(limit(1, 2), local);
  ASSERT_TRUE(failOpen->tryAcquire("k1", 1, t0).allowed);
  ASSERT_TRUE(failClosed->tryAcquire("k2", 1, t0).allowed);
  ASSERT_TRUE(failLocal->tryAcquire("k3", 1, t0).allowed);

  server_.kill();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(failOpen->tryAcquire("k1", 1, t0 + 1ms).allowed);
    const Decision d = failClosed->tryAcquire("k2", 1, t0 + 1ms);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retryAfter, closed.retryInterval);
  }
  int locallyAllowed = 0;
  for (int i = 0; i < 5; ++i) {
    locallyAllowed += failLocal->tryAcquire("k3", 1, t0 + 1ms).allowed ? 1 : 0;
  }
  EXPECT_EQ(locallyAllowed, 2);  // the local limiter's own burst
  EXPECT_TRUE(failOpen->degraded());
  EXPECT_TRUE(failClosed->degraded());
  EXPECT_GT(failOpen->stats().degradedDecisions, 0u);

  server_.start();  // same port, empty data
  // Within the retry interval the limiter does not even try; after it, it reconnects.
  EXPECT_TRUE(failClosed->degraded());
  const TimePoint later = t0 + closed.retryInterval + 2ms;
  EXPECT_TRUE(failClosed->tryAcquire("k2", 1, later).allowed);
  EXPECT_FALSE(failClosed->degraded());
  EXPECT_TRUE(failOpen->tryAcquire("k1", 1, later).allowed);
  EXPECT_FALSE(failOpen->degraded());
}

// A hung Redis (accepts, never answers) costs one command timeout, not a hang; until the retry
// interval has passed, later calls do not wait on the network at all.
TEST_F(SharedLimiterTest, HungRedisTimesOut) {
  RedisConfig redis = redisConfig();
  redis.commandTimeout = 300ms;
  redis.failMode = RedisConfig::FailMode::kClosed;
  auto limiter = makeLimiter(limit(100, 10), redis);
  ASSERT_TRUE(limiter->tryAcquire("k", 1, t0).allowed);
  server_.pause();
  const auto start = std::chrono::steady_clock::now();
  const Decision d = limiter->tryAcquire("k", 1, t0 + 1ms);
  const auto took = std::chrono::steady_clock::now() - start;
  const auto again = std::chrono::steady_clock::now();
  const Decision second = limiter->tryAcquire("k", 1, t0 + 2ms);
  const auto tookAgain = std::chrono::steady_clock::now() - again;
  server_.resume();
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(limiter->degraded());
  EXPECT_GE(took, 250ms);  // it did wait for the reply, up to the timeout
  EXPECT_LT(took, 3s);
  EXPECT_FALSE(second.allowed);
  EXPECT_LT(tookAgain, 150ms);  // well under one command timeout: no network wait
}

// Configuration errors name the field.
TEST(SharedLimiterConfigTest, ErrorsNameTheField) {
  Config limit;
  limit.algorithm = "gcra";
  RedisConfig redis;
  redis.port = 0;
  auto made = SharedLimiter::make(limit, redis);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("rate_limit.redis.port"), std::string::npos);
  redis.port = 6379;
  redis.mode = RedisConfig::Mode::kBatched;
  redis.batch = limit.rate.burst + 1;
  made = SharedLimiter::make(limit, redis);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("rate_limit.redis.batch"), std::string::npos);
  limit.algorithm = "sliding_window";
  redis.batch = 1;
  made = SharedLimiter::make(limit, redis);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("rate_limit.algorithm"), std::string::npos);
}

}  // namespace
}  // namespace fairway::ratelimit::redis
