// Several fairway instances sharing one Redis: a global rate limit holds across them, a response
// cached through one is a hit through the others, and a dead Redis degrades to the configured
// fail mode (or to each instance's memory cache) without failing a request. Real redis-server on a
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

  // Three instances caching in memory in front of the shared Redis tier.
  void startCachingInstances() {
    for (int i = 0; i < 3; ++i) {
      proxy::Config config = proxyConfig({backends_[0]->port()});
      config.workers = 1;
      config.cache.enabled = true;
      proxy::RedisCacheConfig shared;
      shared.port = redis_.port();
      shared.commandTimeout = std::chrono::milliseconds(200);
      config.cache.redis = shared;
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

// The shared cache: stored through one instance, a HIT through the two others; the backend
// answers once.
TEST_F(ProxyRedisTest, CachedThroughOneInstanceIsAHitThroughAnother) {
  startCachingInstances();
  constexpr std::string_view target = "/shared?size=500&header=Cache-Control:max-age=60";
  auto first = get(proxies_[0]->port(), target);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("x-cache"), "MISS");
  // Stored off the client's path: wait until both tiers took it.
  ASSERT_TRUE(eventually([&] { return proxies_[0]->metrics().cache.stores == 1; }));
  for (std::size_t i = 1; i < proxies_.size(); ++i) {
    auto response = get(proxies_[i]->port(), target);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("x-cache"), "HIT") << "instance " << i;
    EXPECT_EQ(response->body, first->body);
    ASSERT_TRUE(response->header("age"));
    EXPECT_EQ(proxies_[i]->metrics().cache.redisHits, 1U);
  }
  EXPECT_EQ(backends_[0]->requestCount(), 1U);
  // Purged through one instance's admin API, gone for all (memory tiers keep their copy until
  // they drop it: the instance that purged misses, the Redis tier misses for a new instance).
  auto purge = [&](std::uint16_t admin) {
    RawClient client(admin);
    EXPECT_TRUE(client.send(
        "POST "
        "/cache/purge?uri=http://test/shared%3Fsize%3D500%26header%3DCache-Control:max-age%3D60"
        " HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    return client.read();
  };
  auto purged = purge(proxies_[0]->adminPort());
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->status, 200);
  EXPECT_EQ(get(proxies_[0]->port(), target)->header("x-cache"), "MISS");
}

// Redis killed: every instance still caches in its own memory; no request fails.
TEST_F(ProxyRedisTest, DeadRedisLeavesEachInstanceItsMemoryCache) {
  startCachingInstances();
  redis_.kill();
  for (const auto& proxy : proxies_) {
    auto miss = get(proxy->port(), "/local?header=Cache-Control:max-age=60");
    ASSERT_TRUE(miss);
    EXPECT_EQ(miss->status, 200);
    EXPECT_EQ(miss->header("x-cache"), "MISS");
    ASSERT_TRUE(eventually([&] { return proxy->metrics().cache.stores == 1; }));
    auto hit = get(proxy->port(), "/local?header=Cache-Control:max-age=60");
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->status, 200);
    EXPECT_EQ(hit->header("x-cache"), "HIT");
    EXPECT_GT(proxy->metrics().cache.redisErrors, 0U);
  }
  EXPECT_EQ(backends_[0]->requestCount(), 3U);
}

// A hung Redis (SIGSTOP: it takes the bytes and never answers): a request costs at most the
// command timeout (200 ms here) once, then the Redis tier is skipped; nothing fails or hangs.
TEST_F(ProxyRedisTest, HungRedisCostsAtMostTheCommandTimeout) {
  startCachingInstances();
  redis_.pause();
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    auto response = get(proxies_[0]->port(), "/hung?header=Cache-Control:max-age=60");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("x-cache"), i == 0 ? "MISS" : "HIT") << i;
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, 2s) << "ten requests, one command timeout";
  EXPECT_GT(proxies_[0]->metrics().cache.redisErrors, 0U);
  EXPECT_TRUE(proxies_[0]->metrics().cache.redisDegraded);
  redis_.resume();
}

}  // namespace
}  // namespace fairway::testing
