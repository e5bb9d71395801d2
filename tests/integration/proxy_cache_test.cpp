// The response cache on the proxy's path (cache.*): X-Cache and Age on what it serves, HEAD from
// a stored GET, revalidation with 304, coalesced misses, stale-while-revalidate in the
// background, stale-if-error on a dead or failing backend, bounded bodies, invalidation by
// unsafe methods, purge through the admin API, and the cache's metrics.

#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_harness.hpp"

namespace fairway::testing {
namespace {

class ProxyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backends_ = startBackends(1);
    ASSERT_EQ(backends_.size(), 1U);
  }

  proxy::Config cacheConfig() {
    proxy::Config config = proxyConfig({backends_[0]->port()});
    config.cache.enabled = true;
    config.cache.maxEntries = 100;
    config.cache.maxBodyBytes = 64 * 1024;
    config.cache.maxBytes = 4 << 20;
    return config;
  }

  void start(const proxy::Config& config) {
    proxy_ = startProxy(config);
    ASSERT_NE(proxy_, nullptr);
  }
  void start() { start(cacheConfig()); }

  std::optional<Response> send(std::string_view method, std::string_view target,
                               std::string_view extraHeaders = "") {
    RawClient client(proxy_->port());
    std::string request = std::string(method) + " " + std::string(target) +
                          " HTTP/1.1\r\nHost: test\r\n" + std::string(extraHeaders) +
                          "Connection: close\r\n\r\n";
    if (!client.send(request)) {
      return std::nullopt;
    }
    return client.read(10s, method == "HEAD");
  }

  std::uint64_t upstreamRequests() const { return backends_[0]->requestCount(); }

  std::vector<std::unique_ptr<echo::EchoServer>> backends_;
  std::unique_ptr<proxy::Server> proxy_;
};

constexpr std::string_view kFresh = "/page?size=300&header=Cache-Control:max-age=60";

TEST_F(ProxyCacheTest, MissThenHitWithAge) {
  start();
  auto first = send("GET", kFresh);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("x-cache"), "MISS");
  EXPECT_EQ(first->body.size(), 300U);
  EXPECT_EQ(upstreamRequests(), 1U);

  auto second = send("GET", kFresh);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->header("x-cache"), "HIT");
  EXPECT_EQ(second->body, first->body);
  EXPECT_EQ(second->header("content-length"), "300");
  EXPECT_EQ(second->header("cache-control"), "max-age=60");
  EXPECT_EQ(second->header("x-echo-instance"), "b0");
  ASSERT_TRUE(second->header("age")) << "every response from the cache carries Age";
  EXPECT_LE(std::stoi(*second->header("age")), 5);
  EXPECT_EQ(upstreamRequests(), 1U) << "the hit never reached the backend";

  // Another host is another resource.
  RawClient other(proxy_->port());
  ASSERT_TRUE(other.send("GET " + std::string(kFresh) +
                         " HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"));
  auto elsewhere = other.read();
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->header("x-cache"), "MISS");
  EXPECT_EQ(upstreamRequests(), 2U);

  auto stats = proxy_->metrics().cache;
  EXPECT_TRUE(stats.enabled);
  EXPECT_EQ(stats.hits, 1U);
  EXPECT_EQ(stats.misses, 2U);
  EXPECT_EQ(stats.stores, 2U);
  EXPECT_EQ(stats.entries, 2U);
}

// Keep-alive: a hit and a miss on one connection, pipelined.
TEST_F(ProxyCacheTest, HitsAndMissesShareAKeepAliveConnection) {
  start();
  ASSERT_TRUE(send("GET", kFresh));
  RawClient client(proxy_->port());
  ASSERT_TRUE(client.send("GET " + std::string(kFresh) +
                          " HTTP/1.1\r\nHost: test\r\n\r\n"
                          "GET /other?size=10 HTTP/1.1\r\nHost: test\r\n\r\n"
                          "GET " +
                          std::string(kFresh) + " HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto a = client.read();
  auto b = client.read();
  auto c = client.read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->header("x-cache"), "HIT");
  EXPECT_EQ(b->header("x-cache"), "MISS");
  EXPECT_EQ(b->body.size(), 10U);
  EXPECT_EQ(c->header("x-cache"), "HIT");
  EXPECT_EQ(c->body.size(), 300U);
  EXPECT_FALSE(client.closedWithin(100ms));
}

// An HTTP/1.0 client gets the stored response with its own framing: Content-Length, then the
// connection closes (no keep-alive asked).
TEST_F(ProxyCacheTest, Http10ClientGetsAHit) {
  start();
  ASSERT_TRUE(send("GET", kFresh));
  RawClient client(proxy_->port());
  ASSERT_TRUE(client.send("GET " + std::string(kFresh) + " HTTP/1.0\r\nHost: test\r\n\r\n"));
  auto hit = client.read();
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->status, 200);
  EXPECT_EQ(hit->header("x-cache"), "HIT");
  EXPECT_EQ(hit->header("via"), "1.0 fairway");
  EXPECT_EQ(hit->body.size(), 300U);
  EXPECT_TRUE(client.closedWithin(2s));
}

// Vary: one stored variant per Accept-Language value the backend varies on.
TEST_F(ProxyCacheTest, VaryKeepsAVariantPerRequestHeaderValue) {
  start();
  constexpr std::string_view target =
      "/v?header=Cache-Control:max-age=60&header=Vary:Accept-Language";
  EXPECT_EQ(send("GET", target, "Accept-Language: en\r\n")->header("x-cache"), "MISS");
  EXPECT_EQ(send("GET", target, "Accept-Language: fr\r\n")->header("x-cache"), "MISS");
  EXPECT_EQ(send("GET", target, "Accept-Language: en\r\n")->header("x-cache"), "HIT");
  EXPECT_EQ(send("GET", target, "Accept-Language: fr\r\n")->header("x-cache"), "HIT");
  EXPECT_EQ(send("GET", target)->header("x-cache"), "MISS") << "no Accept-Language is a third";
  EXPECT_EQ(upstreamRequests(), 3U);
}

TEST_F(ProxyCacheTest, HeadIsAnsweredFromAStoredGet) {
  start();
  ASSERT_TRUE(send("GET", kFresh));
  auto head = send("HEAD", kFresh);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("x-cache"), "HIT");
  EXPECT_EQ(head->header("content-length"), "300");
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(upstreamRequests(), 1U);
}

TEST_F(ProxyCacheTest, UncacheableResponsesAndMethodsPassThrough) {
  start();
  for (int i = 0; i < 2; ++i) {
    auto r = send("GET", "/nostore?header=Cache-Control:no-store");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-cache"), "MISS");
  }
  EXPECT_EQ(upstreamRequests(), 2U);
  // A response that sets a cookie is not shared.
  for (int i = 0; i < 2; ++i) {
    auto r = send("GET", "/cookie?header=Cache-Control:max-age=60&header=Set-Cookie:id%3D7");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-cache"), "MISS");
    EXPECT_EQ(r->header("set-cookie"), "id=7");
  }
  EXPECT_EQ(upstreamRequests(), 4U);
  auto post = send("POST", "/form", "Content-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->header("x-cache"), "BYPASS");
  // A Range request goes through as it is.
  auto range = send("GET", kFresh, "Range: bytes=0-9\r\n");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->header("x-cache"), "BYPASS");
  EXPECT_EQ(proxy_->metrics().cache.stores, 0U);
}

// The stored response is stale (max-age=0) and has an ETag: the next request revalidates it,
// the backend answers 304, and the client gets the stored body.
TEST_F(ProxyCacheTest, StaleEntryIsRevalidatedWith304) {
  start();
  constexpr std::string_view target =
      "/v?size=200&header=Cache-Control:max-age=0&header=ETag:%22v1%22";
  auto first = send("GET", target);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->header("x-cache"), "MISS");
  auto second = send("GET", target);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->header("x-cache"), "REVALIDATED");
  EXPECT_EQ(second->body, first->body);
  EXPECT_EQ(second->header("etag"), "\"v1\"");
  EXPECT_EQ(upstreamRequests(), 2U);
  EXPECT_EQ(proxy_->metrics().cache.notModified, 1U);

  // The client's own conditional request, answered 304 from the revalidated entry.
  auto conditional = send("GET", target, "If-None-Match: \"v1\"\r\n");
  ASSERT_TRUE(conditional);
  EXPECT_EQ(conditional->status, 304);
  EXPECT_TRUE(conditional->body.empty());
}

TEST_F(ProxyCacheTest, ConditionalRequestOnAFreshEntryIsAnswered304FromTheCache) {
  start();
  constexpr std::string_view target = "/e?header=Cache-Control:max-age=60&header=ETag:%22abc%22";
  ASSERT_TRUE(send("GET", target));
  auto conditional = send("GET", target, "If-None-Match: W/\"abc\", \"zzz\"\r\n");
  ASSERT_TRUE(conditional);
  EXPECT_EQ(conditional->status, 304);
  EXPECT_EQ(conditional->header("x-cache"), "HIT");
  EXPECT_EQ(upstreamRequests(), 1U);
}

// Concurrent misses on one URI: one upstream fetch, everyone gets the body.
TEST_F(ProxyCacheTest, ConcurrentMissesAreCoalesced) {
  start();
  constexpr int kClients = 8;
  constexpr std::string_view target = "/slow?delay=300ms&size=500&header=Cache-Control:max-age=60";
  std::vector<std::optional<Response>> responses(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] { responses[static_cast<std::size_t>(i)] = send("GET", target); });
  }
  for (auto& t : threads) {
    t.join();
  }
  int misses = 0;
  for (const auto& r : responses) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 500U);
    misses += r->header("x-cache") == "MISS" ? 1 : 0;
  }
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(upstreamRequests(), 1U);
  EXPECT_EQ(proxy_->metrics().cache.coalesced, static_cast<std::uint64_t>(kClients - 1));
}

// A waiter gives up after cache.coalesce_timeout and fetches for itself.
TEST_F(ProxyCacheTest, CoalescedWaitTimesOut) {
  proxy::Config config = cacheConfig();
  config.cache.coalesceTimeout = 100ms;
  start(config);
  constexpr std::string_view target = "/slower?delay=600ms&header=Cache-Control:max-age=60";
  std::optional<Response> leader;
  std::thread first([&] { leader = send("GET", target); });
  ASSERT_TRUE(eventually([&] { return upstreamRequests() == 1; }));
  auto started = std::chrono::steady_clock::now();
  auto follower = send("GET", target);
  auto waited = std::chrono::steady_clock::now() - started;
  first.join();
  ASSERT_TRUE(leader && follower);
  EXPECT_EQ(follower->status, 200);
  EXPECT_EQ(follower->header("x-cache"), "MISS");
  EXPECT_EQ(upstreamRequests(), 2U);
  EXPECT_GE(waited, 600ms);  // 100 ms of waiting, then its own 600 ms fetch
}

// RFC 5861 stale-while-revalidate: the stale response goes out at once, and one background
// request refreshes it.
TEST_F(ProxyCacheTest, StaleWhileRevalidateRefreshesInTheBackground) {
  start();
  // Age: 5 with max-age=1: stale on arrival, within its stale-while-revalidate window.
  constexpr std::string_view target =
      "/swr?size=100&header=Cache-Control:max-age=1,stale-while-revalidate=600&header=Age:5";
  ASSERT_TRUE(send("GET", target));
  EXPECT_EQ(upstreamRequests(), 1U);
  auto stale = send("GET", target);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->header("x-cache"), "STALE");
  EXPECT_EQ(stale->body.size(), 100U);
  EXPECT_TRUE(eventually([&] { return upstreamRequests() == 2; })) << "no background refresh";
  EXPECT_TRUE(eventually([&] { return proxy_->metrics().cache.stores == 2; }));
  EXPECT_EQ(proxy_->metrics().cache.refreshes, 1U);
  EXPECT_EQ(proxy_->metrics().cache.refreshFailures, 0U);
}

// stale-if-error: the backend is gone; the stale response stands in for the 502.
TEST_F(ProxyCacheTest, StaleIfErrorWhenTheBackendIsDown) {
  start();
  constexpr std::string_view target =
      "/sie?size=120&header=Cache-Control:max-age=1,stale-if-error=600&header=Age:5";
  ASSERT_TRUE(send("GET", target));
  backends_[0]->stop();
  auto stale = send("GET", target);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->header("x-cache"), "STALE");
  EXPECT_EQ(stale->body.size(), 120U);
  // Without stale-if-error, the client gets the 502.
  auto nothing = send("GET", "/never-stored?header=Cache-Control:max-age=60");
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 502);
}

// stale-if-error on a server error: the backend answers 503 in place of the stored response.
TEST_F(ProxyCacheTest, StaleIfErrorOnAServerError) {
  start();
  constexpr std::string_view target =
      "/sie5?size=80&header=Cache-Control:max-age=1,stale-if-error=600&header=Age:5";
  ASSERT_TRUE(send("GET", target));
  // The same port now answers 503 to everything.
  const std::uint16_t port = backends_[0]->port();
  backends_[0]->stop();
  echo::Options failing;
  failing.port = port;
  failing.errorRate = 1;
  failing.errorStatus = 503;
  echo::EchoServer broken(failing);
  ASSERT_TRUE(broken.start());
  auto stale = send("GET", target);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->header("x-cache"), "STALE");
  EXPECT_EQ(stale->body.size(), 80U);
  EXPECT_EQ(broken.requestCount(), 2U);  // 503 is retried once (retry.on_statuses) first
  // Nothing stored for this one: the 503 itself, withheld and then sent whole.
  auto error = send("GET", "/fresh-error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 503);
  EXPECT_EQ(error->header("x-cache"), "MISS");
  EXPECT_EQ(error->body, "fairway-echo: injected error\n");
}

// Bodies over cache.max_body_bytes stream through whole and are not stored.
TEST_F(ProxyCacheTest, LargeBodiesStreamAndAreNotStored) {
  proxy::Config config = cacheConfig();
  config.cache.maxBodyBytes = 1024;
  start(config);
  constexpr std::string_view target = "/big?size=200000&header=Cache-Control:max-age=60";
  for (int i = 0; i < 2; ++i) {
    auto r = send("GET", target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 200000U);
    EXPECT_EQ(r->header("x-cache"), "MISS");
  }
  EXPECT_EQ(upstreamRequests(), 2U);
  // A large server error is released from withholding and streams too.
  auto error = send("GET", "/big-error?status=500&size=5000");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 500);
  EXPECT_EQ(error->body.size(), 5000U);
  EXPECT_EQ(proxy_->metrics().cache.stores, 0U);
}

// RFC 9111 §4.4: a successful POST invalidates the stored response for its target.
TEST_F(ProxyCacheTest, UnsafeMethodInvalidatesItsTarget) {
  start();
  ASSERT_TRUE(send("GET", kFresh));
  EXPECT_EQ(send("GET", kFresh)->header("x-cache"), "HIT");
  auto post = send("POST", kFresh, "Content-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  auto after = send("GET", kFresh);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->header("x-cache"), "MISS");
  EXPECT_EQ(proxy_->metrics().cache.invalidations, 1U);
}

std::optional<Response> adminPost(std::uint16_t port, std::string_view target) {
  RawClient client(port);
  if (!client.send("POST " + std::string(target) +
                   " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")) {
    return std::nullopt;
  }
  return client.read();
}

TEST_F(ProxyCacheTest, PurgeThroughTheAdminApi) {
  start();
  ASSERT_TRUE(send("GET", "/a/1?header=Cache-Control:max-age=60&header=Surrogate-Key:red"));
  ASSERT_TRUE(send("GET", "/a/2?header=Cache-Control:max-age=60&header=Surrogate-Key:blue"));
  ASSERT_TRUE(send("GET", "/b/1?header=Cache-Control:max-age=60"));
  ASSERT_TRUE(send("GET", kFresh));
  EXPECT_EQ(proxy_->metrics().cache.entries, 4U);
  const std::uint16_t admin = proxy_->adminPort();

  auto byUri = adminPost(admin, "/cache/purge?uri=" + std::string("http://TEST") +
                                    "/page%3Fsize%3D300%26header%3DCache-Control:max-age%3D60");
  ASSERT_TRUE(byUri);
  EXPECT_EQ(byUri->status, 200);
  EXPECT_EQ(byUri->body, "{\"purged\":1}\n");
  EXPECT_EQ(send("GET", kFresh)->header("x-cache"), "MISS");

  auto byTag = adminPost(admin, "/cache/purge?tag=red");
  ASSERT_TRUE(byTag);
  EXPECT_EQ(byTag->body, "{\"purged\":1}\n");
  EXPECT_EQ(send("GET", "/a/1?header=Cache-Control:max-age=60&header=Surrogate-Key:red")
                ->header("x-cache"),
            "MISS");

  auto byPrefix = adminPost(admin, "/cache/purge?prefix=http://test/a/");
  ASSERT_TRUE(byPrefix);
  EXPECT_EQ(byPrefix->body, "{\"purged\":2}\n");  // /a/1 (stored again) and /a/2
  EXPECT_EQ(send("GET", "/b/1?header=Cache-Control:max-age=60")->header("x-cache"), "HIT");

  // Mistakes get a clear answer.
  auto wrongMethod = get(admin, "/cache/purge?uri=http://test/x");
  ASSERT_TRUE(wrongMethod);
  EXPECT_EQ(wrongMethod->status, 405);
  auto notAbsolute = adminPost(admin, "/cache/purge?uri=/page");
  ASSERT_TRUE(notAbsolute);
  EXPECT_EQ(notAbsolute->status, 400);
  EXPECT_NE(notAbsolute->body.find("must be absolute"), std::string::npos);
  auto nothing = adminPost(admin, "/cache/purge");
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 400);
}

TEST_F(ProxyCacheTest, PurgeWithTheCacheOffIsNotFound) {
  start(proxyConfig({backends_[0]->port()}));
  auto r = adminPost(proxy_->adminPort(), "/cache/purge?uri=http://test/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto plain = send("GET", kFresh);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->header("x-cache")) << "no X-Cache without a cache";
}

// SIGHUP reload with the same cache section: what was stored is still there; with another one,
// the new configuration starts empty.
TEST_F(ProxyCacheTest, ReloadKeepsTheCacheWhenItsSectionIsUnchanged) {
  proxy::Config config = cacheConfig();
  start(config);
  ASSERT_EQ(send("GET", kFresh)->header("x-cache"), "MISS");
  auto reload = [&](const proxy::Config& next) {
    auto made = proxy::Server::make(next);
    ASSERT_TRUE(made);
    auto second = std::move(made.value());
    ASSERT_TRUE(second->start(proxy_.get()));
    EXPECT_TRUE(proxy_->drain(5s));
    proxy_ = std::move(second);
  };
  config.upstreams[0].balancer.algorithm = "random";  // something else changed
  reload(config);
  EXPECT_EQ(send("GET", kFresh)->header("x-cache"), "HIT");
  EXPECT_EQ(proxy_->metrics().cache.entries, 1U);
  config.cache.maxEntries = 50;
  reload(config);
  EXPECT_EQ(send("GET", kFresh)->header("x-cache"), "MISS");
  EXPECT_EQ(upstreamRequests(), 2U);
}

// The cache's counters in Prometheus text, parsed.
TEST_F(ProxyCacheTest, MetricsCountHitsMissesAndStale) {
  start();
  ASSERT_TRUE(send("GET", kFresh));
  ASSERT_TRUE(send("GET", kFresh));
  ASSERT_TRUE(send("GET", kFresh));
  auto scrape = get(proxy_->adminPort(), "/metrics");
  ASSERT_TRUE(scrape);
  std::map<std::string, std::string> samples;
  std::istringstream lines(scrape->body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') {
      const std::size_t space = line.rfind(' ');
      samples[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  EXPECT_EQ(samples["fairway_cache_requests_total{result=\"hit\"}"], "2");
  EXPECT_EQ(samples["fairway_cache_requests_total{result=\"miss\"}"], "1");
  EXPECT_EQ(samples["fairway_cache_requests_total{result=\"stale\"}"], "0");
  EXPECT_EQ(samples["fairway_cache_stores_total"], "1");
  EXPECT_EQ(samples["fairway_cache_entries"], "1");
  auto stats = get(proxy_->adminPort(), "/stats");
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->body.find("\"cache\":{\"hits\":2,"), std::string::npos) << stats->body;
  auto config = get(proxy_->adminPort(), "/config");
  ASSERT_TRUE(config);
  EXPECT_NE(config->body.find("\"cache\":{\"max_size\":100,\"max_bytes\":4194304,"
                              "\"max_body_bytes\":65536,\"policy\":\"lru\",\"redis\":null}"),
            std::string::npos)
      << config->body;
}

}  // namespace
}  // namespace fairway::testing
