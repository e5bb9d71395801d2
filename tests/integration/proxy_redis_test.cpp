// Several fairway instances sharing one Redis: a global rate limit holds across them, and a dead
// Redis degrades to the configured fail mode without failing a request. Real redis-server on a
// free loopback port (tests/support/redis_server.hpp).

#include <gtest/gtest.h>

#include "proxy_harness.hpp"
#include "support/redis_server.hpp"

namespace fairway::testing {
namespace {

class ProxyRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backends_ = startBackends(1);
    ASSERT_EQ(backends_.size(), 1U);
  }

  // Three instances with one shared limit: burst 30, one more per second.
  void startInstances(std::string failMode) {
    for (int i = 0; i < 3; ++i) {
      proxy::Config config = proxyConfig({backends_[0]->port()});
      config.workers = 1;
      config.rateLimit.enabled = true;
      config.rateLimit.requestsPerSecond = 1;
      config.rateLimit.burst = 30;
      proxy::RedisRateLimitConfig shared;
      shared.port = redis_.port();
      shared.failMode = failMode;
      shared.commandTimeout = std::chrono::milliseconds(200);
      shared.threads = 2;
      config.rateLimit.redis = shared;
      auto proxy = startProxy(config);
      ASSERT_NE(proxy, nullptr);
      proxies_.push_back(std::move(proxy));
    }
  }

  // `count` GETs spread round-robin over the instances; statuses counted.
  std::map<int, int> send(int count) {
    std::map<int, int> statuses;
    for (int i = 0; i < count; ++i) {
      auto response = get(proxies_[static_cast<std::size_t>(i) % proxies_.size()]->port(), "/x");
      ++statuses[response ? response->status : 0];
    }
    return statuses;
  }

  RedisServer redis_;
  std::vector<std::unique_ptr<echo::EchoServer>> backends_;
  std::vector<std::unique_ptr<proxy::Server>> proxies_;
};

// The global limit holds across three instances within 5%: 30 of 90 pass (plus what one token per
// second adds while the test runs), not 90.
TEST_F(ProxyRedisTest, GlobalLimitHoldsAcrossThreeInstances) {
  startInstances("open");
  auto start = std::chrono::steady_clock::now();
  auto statuses = send(90);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(statuses[0], 0);
  EXPECT_GE(statuses[200], 30);
  EXPECT_LE(statuses[200], 30 + static_cast<int>(seconds) + 2) << "over the global limit";
  EXPECT_EQ(statuses[200] + statuses[429], 90);
  std::uint64_t limited = 0;
  for (const auto& proxy : proxies_) {
    limited += proxy->metrics().rateLimited;
    EXPECT_GT(proxy->metrics().rateLimitRedisCalls, 0U);
  }
  EXPECT_EQ(limited, static_cast<std::uint64_t>(statuses[429]));
}

// Redis killed, fail_mode open: no request fails because of it; decisions are counted as degraded.
TEST_F(ProxyRedisTest, DeadRedisFailsOpen) {
  startInstances("open");
  redis_.kill();
  auto statuses = send(60);
  EXPECT_EQ(statuses[200], 60);
  std::uint64_t degraded = 0;
  for (const auto& proxy : proxies_) {
    degraded += proxy->metrics().rateLimitDegradedDecisions;
  }
  EXPECT_GT(degraded, 0U);
}

// Redis killed, fail_mode local: each instance applies the same limit on its own (30 each).
TEST_F(ProxyRedisTest, DeadRedisFallsBackToLocalLimits) {
  startInstances("local");
  redis_.kill();
  auto statuses = send(120);
  EXPECT_EQ(statuses[0], 0);
  EXPECT_GE(statuses[200], 90);
  EXPECT_LE(statuses[200], 90 + 6);
  EXPECT_EQ(statuses[200] + statuses[429], 120);
}

}  // namespace
}  // namespace fairway::testing
