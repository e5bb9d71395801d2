// The proxy at the edge: rate limits (429 with Retry-After and RateLimit fields, keys, dry run).

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_harness.hpp"

namespace fairway::testing {
namespace {

std::unique_ptr<proxy::Server> limitedProxy(std::uint16_t backendPort, std::string key,
                                            bool dryRun = false, int trustedHops = 0) {
  proxy::Config config = proxyConfig({backendPort});
  config.rateLimit.enabled = true;
  config.rateLimit.requestsPerSecond = 0.5;  // one token every 2 s: none comes back mid-test
  config.rateLimit.burst = 3;
  config.rateLimit.key = std::move(key);
  config.rateLimit.dryRun = dryRun;
  config.rateLimit.trustedHops = trustedHops;
  return startProxy(config);
}

// Over the limit: 429 with Retry-After, RateLimit-Policy and RateLimit; the connection stays up,
// the backend never sees the refused request.
TEST(ProxyRateLimitTest, AnswersTooManyRequestsOverTheBurst) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = limitedProxy(backends[0]->port(), "client");
  ASSERT_NE(proxy, nullptr);
  RawClient client(proxy->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = client.read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << i;
  }
  ASSERT_TRUE(client.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto limited = client.read();
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("retry-after"), "2");
  EXPECT_EQ(limited->header("ratelimit-policy"), "\"default\";q=3;w=6");
  ASSERT_TRUE(limited->header("ratelimit"));
  EXPECT_EQ(limited->header("ratelimit")->rfind("\"default\";r=0;t=", 0), 0U);
  EXPECT_EQ(backends[0]->requestCount(), 3U);
  // Same connection, still limited, still open.
  ASSERT_TRUE(client.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  limited = client.read();
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(proxy->metrics().rateLimited, 2U);
}

// key: header:<name> keeps one quota per header value.
TEST(ProxyRateLimitTest, KeysByHeader) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = limitedProxy(backends[0]->port(), "header:X-Api-Key");
  ASSERT_NE(proxy, nullptr);
  auto status = [&](std::string_view key) {
    auto response = get(proxy->port(), "/x", "X-Api-Key: " + std::string(key) + "\r\n");
    return response ? response->status : 0;
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(status("alice"), 200);
  }
  EXPECT_EQ(status("alice"), 429);
  EXPECT_EQ(status("bob"), 200);
}

// With trusted_hops 1, the client is the last X-Forwarded-For entry, not the peer.
TEST(ProxyRateLimitTest, KeysByTrustedForwardedFor) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = limitedProxy(backends[0]->port(), "client", false, 1);
  ASSERT_NE(proxy, nullptr);
  auto status = [&](std::string_view from) {
    auto response = get(proxy->port(), "/x", "X-Forwarded-For: " + std::string(from) + "\r\n");
    return response ? response->status : 0;
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(status("1.1.1.1, 10.0.0.1"), 200);
  }
  EXPECT_EQ(status("2.2.2.2, 10.0.0.1"), 429);  // the same last hop: the same client
  EXPECT_EQ(status("10.0.0.2"), 200);
}

// Dry run: nothing is refused; what would have been is counted.
TEST(ProxyRateLimitTest, DryRunOnlyCounts) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = limitedProxy(backends[0]->port(), "client", true);
  ASSERT_NE(proxy, nullptr);
  for (int i = 0; i < 6; ++i) {
    auto response = get(proxy->port(), "/x");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(proxy->metrics().rateLimitedDryRun, 3U);
  EXPECT_EQ(proxy->metrics().rateLimited, 0U);
}

}  // namespace
}  // namespace fairway::testing

namespace fairway::testing {
namespace {

// Reload under load loses no request: a new server takes over the listening sockets, the old
// one drains (its idle connections get a moment to send one more request, answered with
// Connection: close). Clients reconnect when told to close, as HTTP clients do.
TEST(ProxyReloadTest, ReloadUnderLoadLosesNoRequest) {
  auto backends = startBackends(2);
  ASSERT_EQ(backends.size(), 2U);
  proxy::Config config = proxyConfig(portsOf(backends));
  auto first = startProxy(config);
  ASSERT_NE(first, nullptr);
  const std::uint16_t port = first->port();

  std::atomic<bool> running{true};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto client = std::make_unique<RawClient>(port);
      while (running.load()) {
        if (!client->send("GET /x?size=10 HTTP/1.1\r\nHost: t\r\n\r\n")) {
          ++failed;
          client = std::make_unique<RawClient>(port);
          continue;
        }
        auto response = client->read(5s);
        if (!response || response->status != 200) {
          ++failed;
          client = std::make_unique<RawClient>(port);
          continue;
        }
        ++ok;
        if (lower(response->header("connection").value_or("")) == "close") {
          client = std::make_unique<RawClient>(port);
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ok.load() > 200; }));
  // The same listener (port 0 resolved to `port`): the new server inherits its sockets.
  config.upstreams[0].balancer.algorithm = "random";
  auto made = proxy::Server::make(config);
  ASSERT_TRUE(made);
  auto second = std::move(made.value());
  ASSERT_TRUE(second->start(first.get()));
  EXPECT_EQ(second->port(), port);
  int before = ok.load();
  EXPECT_TRUE(first->drain(5s));
  first.reset();
  ASSERT_TRUE(eventually([&] { return ok.load() > before + 200; }));
  running = false;
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(second->metrics().requests, 200U);
}

}  // namespace
}  // namespace fairway::testing

namespace fairway::testing {
namespace {

// Parses Prometheus text: sample name with its labels -> value. Checks that every line parses
// and that each histogram's buckets are cumulative.
std::map<std::string, double> parseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, double> previousBucket;  // series without `le` -> last bucket value
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') {
      EXPECT_TRUE(line.empty() || line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0)
          << line;
      continue;
    }
    std::size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      ADD_FAILURE() << line;
      continue;
    }
    std::string name = line.substr(0, space);
    char* end = nullptr;
    double value = std::strtod(line.c_str() + space + 1, &end);
    EXPECT_EQ(*end, '\0') << line;
    EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(name[0]))) << line;
    samples[name] = value;
    if (std::size_t le = name.find("le=\""); le != std::string::npos) {
      const std::string series = name.substr(0, le);
      if (auto it = previousBucket.find(series); it != previousBucket.end()) {
        EXPECT_GE(value, it->second) << "buckets must be cumulative: " << line;
      }
      previousBucket[series] = value;
    }
  }
  return samples;
}

// /metrics is Prometheus text: every sample line parses, counters match the traffic sent, the
// duration histograms are cumulative and count every response and every answered attempt.
TEST(ProxyAdminTest, MetricsAreValidPrometheusText) {
  auto backends = startBackends(2);
  ASSERT_EQ(backends.size(), 2U);
  proxy::Config config = proxyConfig(portsOf(backends));
  config.routes.push_back(proxy::RouteConfig{"", "/api/", "default"});
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(get(proxy->port(), "/x?status=" + std::to_string(i < 7 ? 200 : 503)));
  }
  ASSERT_TRUE(get(proxy->port(), "/api/y"));
  ASSERT_TRUE(get(proxy->port(), "/api/z"));
  ASSERT_NE(proxy->adminPort(), 0);
  auto scrape = get(proxy->adminPort(), "/metrics");
  ASSERT_TRUE(scrape);
  ASSERT_EQ(scrape->status, 200);
  std::map<std::string, double> samples = parseSamples(scrape->body);
  EXPECT_EQ(samples["fairway_requests_total"], 12);
  EXPECT_EQ(samples["fairway_responses_total{class=\"2xx\"}"], 9);
  EXPECT_EQ(samples["fairway_responses_total{class=\"5xx\"}"], 3);
  EXPECT_EQ(samples["fairway_upstream_responses_total{upstream=\"default\",class=\"5xx\"}"], 3);
  EXPECT_EQ(
      samples["fairway_route_responses_total{route=\"*/\",upstream=\"default\",class=\"2xx\"}"], 7);
  EXPECT_EQ(
      samples["fairway_route_responses_total{route=\"*/\",upstream=\"default\",class=\"5xx\"}"], 3);
  EXPECT_EQ(
      samples["fairway_route_responses_total{route=\"*/api/\",upstream=\"default\",class=\"2xx\"}"],
      2);
  EXPECT_EQ(samples["fairway_request_duration_seconds_count"], 12);
  EXPECT_EQ(samples["fairway_request_duration_seconds_bucket{le=\"+Inf\"}"], 12);
  // Each 503 was tried again on the other backend (retry.attempts 2 by default): 9 + 3 × 2.
  EXPECT_EQ(samples["fairway_backend_requests_total{upstream=\"default\",backend=\"b0\"}"] +
                samples["fairway_backend_requests_total{upstream=\"default\",backend=\"b1\"}"],
            15);
  EXPECT_EQ(samples["fairway_retries_total"], 3);
  // Every attempt got a response head, the retried 503s too.
  EXPECT_EQ(samples["fairway_upstream_header_duration_seconds_count{upstream=\"default\"}"], 15);
  EXPECT_EQ(
      samples["fairway_upstream_header_duration_seconds_bucket{upstream=\"default\",le=\"+Inf\"}"],
      15);
  EXPECT_EQ(samples["fairway_backend_up{upstream=\"default\",backend=\"b0\"}"], 1);

  auto backendsJson = get(proxy->adminPort(), "/backends");
  ASSERT_TRUE(backendsJson);
  EXPECT_NE(backendsJson->body.find("\"id\":\"b1\""), std::string::npos);
  auto health = get(proxy->adminPort(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// The upstream histogram measures the backend's wait: three responses delayed 60 ms by the
// backend land above the 50 ms bucket, and the sum holds at least their 180 ms.
TEST(ProxyAdminTest, UpstreamHeaderDurationMeasuresTheBackendsWait) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = startProxy(proxyConfig(portsOf(backends)));
  ASSERT_NE(proxy, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto response = get(proxy->port(), "/slow?delay=60ms");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  auto scrape = get(proxy->adminPort(), "/metrics");
  ASSERT_TRUE(scrape);
  std::map<std::string, double> samples = parseSamples(scrape->body);
  const std::string series = "fairway_upstream_header_duration_seconds";
  EXPECT_EQ(samples[series + "_count{upstream=\"default\"}"], 3);
  EXPECT_EQ(samples[series + "_bucket{upstream=\"default\",le=\"0.05\"}"], 0);
  EXPECT_EQ(samples[series + "_bucket{upstream=\"default\",le=\"10\"}"], 3);
  EXPECT_GE(samples[series + "_sum{upstream=\"default\"}"], 0.18);
  EXPECT_LT(samples[series + "_sum{upstream=\"default\"}"], 30);
  const proxy::MetricsSnapshot m = proxy->metrics();
  ASSERT_EQ(m.upstreams.size(), 1U);
  EXPECT_EQ(m.upstreams[0].headerLatencyBuckets.size(), m.latencyBounds.size() + 1);
}

}  // namespace
}  // namespace fairway::testing

namespace fairway::testing {
namespace {

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) {
    lines.push_back(line);
  }
  return lines;
}

// log.access: one line per request, in nginx's combined format (plus request id, duration and
// backend) or as JSON; written asynchronously and complete once the server stops.
TEST(ProxyAccessLogTest, WritesCombinedAndJsonLines) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  for (std::string format : {"combined", "json"}) {
    char path[] = "/tmp/fairway-access-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    proxy::Config config = proxyConfig({backends[0]->port()});
    config.log.accessLog = path;
    config.log.accessFormat = format;
    auto proxy = startProxy(config);
    ASSERT_NE(proxy, nullptr);
    ASSERT_TRUE(
        get(proxy->port(), "/a?size=12", "User-Agent: tester \"q\"\r\nX-Request-Id: r1\r\n"));
    ASSERT_TRUE(get(proxy->port(), "/b?status=404"));
    proxy->stop();
    auto lines = readLines(path);
    ::unlink(path);
    ASSERT_EQ(lines.size(), 2U) << format;
    if (format == "combined") {
      EXPECT_EQ(lines[0].rfind("127.0.0.1 - - [", 0), 0U) << lines[0];
      EXPECT_NE(lines[0].find("] \"GET /a?size=12 HTTP/1.1\" 200 12 \"-\" \"tester \\x22q\\x22\" "
                              "\"r1\" "),
                std::string::npos)
          << lines[0];
      EXPECT_NE(lines[0].find(" b0"), std::string::npos) << lines[0];
      EXPECT_NE(lines[1].find("\"GET /b?status=404 HTTP/1.1\" 404 "), std::string::npos)
          << lines[1];
    } else {
      EXPECT_NE(lines[0].find("\"method\":\"GET\",\"target\":\"/a?size=12\""), std::string::npos)
          << lines[0];
      EXPECT_NE(lines[0].find("\"status\":200,\"bytes\":12"), std::string::npos) << lines[0];
      EXPECT_NE(lines[0].find("\"user_agent\":\"tester \\\"q\\\"\""), std::string::npos)
          << lines[0];
      EXPECT_NE(lines[0].find("\"request_id\":\"r1\""), std::string::npos) << lines[0];
      EXPECT_NE(lines[1].find("\"status\":404"), std::string::npos) << lines[1];
    }
  }
}

// log.error at log.level: lifecycle and health events as "<time> [<Priority>] <text>" lines,
// through an asynchronous POCO channel; events below the level are not written.
TEST(ProxyErrorLogTest, HealthTransitionsAreLoggedAtTheirLevel) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  for (std::string level : {"information", "error"}) {
    SCOPED_TRACE(level);
    char path[] = "/tmp/fairway-error-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    proxy::Config config = proxyConfig({backends[0]->port()});
    config.log.errorLog = path;
    config.log.level = level;
    health::HealthCheckConfig check;
    check.probe.path = "/health";
    check.probe.timeout = 200ms;
    check.interval = 50ms;
    check.fall = 1;
    check.rise = 1;
    config.upstreams[0].healthCheck = check;
    auto proxy = startProxy(config);
    ASSERT_NE(proxy, nullptr);
    auto up = [&] { return proxy->metrics().endpoints.at(0).healthUp; };
    backends[0]->setHealthy(false);
    ASSERT_TRUE(eventually([&] { return !up(); }));
    backends[0]->setHealthy(true);
    ASSERT_TRUE(eventually(up));
    proxy->log(3, "an error, logged by the embedding program");
    proxy->stop();  // the log is complete once the server stops
    auto lines = readLines(path);
    ::unlink(path);
    const std::string backend =
        "upstream default, backend b0 (127.0.0.1:" + std::to_string(backends[0]->port()) + "): ";
    auto has = [&](const std::string& text) {
      return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return line.find(text) != std::string::npos;
      });
    };
    EXPECT_TRUE(has("[Error] an error, logged by the embedding program"));
    if (level == "information") {
      EXPECT_TRUE(has("[Information] started: listening on 127.0.0.1:"));
      EXPECT_TRUE(has("[Warning] " + backend + "health checks fail: down"));
      EXPECT_TRUE(has("[Notice] " + backend + "health checks pass: up"));
      EXPECT_TRUE(has("[Information] stopped"));
      ASSERT_FALSE(lines.empty());
      EXPECT_TRUE(lines[0].size() > 24 && lines[0][4] == '-' && lines[0][10] == 'T' &&
                  lines[0][23] == 'Z')
          << lines[0];
    } else {
      EXPECT_EQ(lines.size(), 1U) << "only the error passes log.level error";
    }
  }
}

TEST(ProxyErrorLogTest, UnwritablePathIsAConfigError) {
  proxy::Config config = proxyConfig({1});
  config.log.errorLog = "/nonexistent-dir/fairway.log";
  auto made = proxy::Server::make(config);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().message.rfind("log.error: ", 0), 0U) << made.error().message;
}

}  // namespace
}  // namespace fairway::testing
