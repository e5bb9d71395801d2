// The proxy's upstream behaviour with real sockets, in one process: fairway::proxy::Server in front
// of fairway-echo backends. Distribution per algorithm, active health checks (a killed backend
// ejected and restored), passive outlier detection (a gray failure), breakers whose open intervals
// grow, retries (idempotent only, connect failures always, within a budget), slow clients that
// must not delay others, client and upstream timeouts, and the connection limit (issue #5).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "proxy_harness.hpp"

namespace fairway::testing {
namespace {

using Clock = std::chrono::steady_clock;
using Counts = std::map<std::string, int>;

// One echo backend named `name` (X-Echo-Instance) with `options`.
std::unique_ptr<echo::EchoServer> startBackend(const std::string& name, echo::Options options) {
  options.name = name;
  options.seed = options.seed.value_or(7);
  auto server = std::make_unique<echo::EchoServer>(options);
  if (!server->start()) {
    return nullptr;
  }
  return server;
}

// The proxy's view of endpoint `id`, or nullopt.
std::optional<proxy::MetricsSnapshot::Endpoint> endpointState(const proxy::Server& proxy,
                                                              std::string_view id) {
  for (auto& endpoint : proxy.metrics().endpoints) {
    if (endpoint.id == id) {
      return endpoint;
    }
  }
  return std::nullopt;
}

// A keep-alive client that reconnects when the proxy closed the connection. It tells a response
// that never began from one cut short after its head (Content-Length responses only: what the echo
// backend and the proxy's own errors send here).
class KeepAliveClient {
 public:
  struct Outcome {
    int status = 0;  // 0: no complete response
    std::string instance;
    bool headSeen = false;  // a response head arrived (status and instance are set)
    std::string error;      // why there is no complete response
  };

  explicit KeepAliveClient(std::uint16_t port) : port_(port) {}

  Outcome request(std::string_view method, std::string_view target, std::string_view body = "",
                  std::chrono::milliseconds timeout = 10s) {
    Outcome outcome;
    if (!client_) {
      client_ = std::make_unique<RawClient>(port_);
      buffer_.clear();
    }
    std::string bytes =
        std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
    if (!body.empty() || method == "POST") {
      bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    bytes += "\r\n";
    bytes += body;
    if (!client_->connected() || !client_->send(bytes)) {
      outcome.error = client_->connected() ? "send failed" : "connect failed";
      client_.reset();
      return outcome;
    }
    auto deadline = Clock::now() + timeout;
    std::size_t headEnd;
    while ((headEnd = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) {
        outcome.error = "no response head; " + std::to_string(buffer_.size()) + " bytes";
        client_.reset();
        return outcome;
      }
    }
    std::string head = lower(buffer_.substr(0, headEnd + 2));
    buffer_.erase(0, headEnd + 4);
    outcome.headSeen = true;
    int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    outcome.instance = field(head, "x-echo-instance");
    std::string length = field(head, "content-length");
    if (length.empty()) {
      outcome.error = "status " + std::to_string(status) + " without Content-Length";
      client_.reset();
      return outcome;
    }
    std::size_t size = std::stoull(length);
    while (buffer_.size() < size) {
      if (!fill(deadline)) {
        outcome.error = "status " + std::to_string(status) + " cut short after " +
                        std::to_string(buffer_.size()) + " of " + length + " body bytes";
        client_.reset();
        return outcome;
      }
    }
    buffer_.erase(0, size);
    outcome.status = status;
    if (field(head, "connection") == "close") {
      client_.reset();
    }
    return outcome;
  }

 private:
  // The value of the first field `name` in a lower-cased head, or "".
  static std::string field(const std::string& head, const std::string& name) {
    std::size_t at = head.find("\r\n" + name + ":");
    if (at == std::string::npos) {
      return "";
    }
    at += name.size() + 3;
    std::size_t end = head.find("\r\n", at);
    std::string value = head.substr(at, end - at);
    value.erase(0, value.find_first_not_of(' '));
    return value;
  }

  bool fill(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{client_->fd(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char chunk[16384];
    ssize_t n = ::recv(client_->fd(), chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  std::uint16_t port_;
  std::unique_ptr<RawClient> client_;
  std::string buffer_;
};

// `count` sequential GETs spread over three keep-alive connections (so that both workers serve
// some); the answering instances, "error" for a missing or non-200 response.
Counts distribution(std::uint16_t port, int count, std::string_view target = "/x") {
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<KeepAliveClient>(port));
  }
  Counts counts;
  for (int i = 0; i < count; ++i) {
    auto outcome = clients[static_cast<std::size_t>(i) % clients.size()]->request("GET", target);
    ++counts[outcome.status == 200 ? outcome.instance : "error"];
  }
  return counts;
}

// GETs sent back to back from `threads` threads (each with a keep-alive connection) until
// stop(): what the clients saw.
class Traffic {
 public:
  Traffic(std::uint16_t port, std::string target, int threads = 1) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port, target] {
        KeepAliveClient client(port);
        while (!stopping_.load()) {
          auto outcome = client.request("GET", target, "", 5s);
          std::lock_guard lock(mutex_);
          ++total_;
          if (outcome.status == 200) {
            ++instances_[outcome.instance];
          } else {
            ++failures_;
            truncated_ += outcome.status == 0 && outcome.headSeen ? 1 : 0;
            if (failureLog_.size() < 10) {
              failureLog_.push_back(
                  "at " +
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_)
                          .count()) +
                  " ms: status " + std::to_string(outcome.status) + " from '" + outcome.instance +
                  "' " + outcome.error);
            }
          }
        }
      });
    }
  }
  ~Traffic() { stop(); }
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;

  void stop() {
    stopping_.store(true);
    for (auto& thread : threads_) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  }
  // Time since the traffic started.
  std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
  }
  int total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }
  int count(const std::string& instance) const {
    std::lock_guard lock(mutex_);
    auto it = instances_.find(instance);
    return it == instances_.end() ? 0 : it->second;
  }
  // Requests without a complete 200 response.
  int failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  // Of those, responses cut short after their head had reached the client.
  int truncated() const {
    std::lock_guard lock(mutex_);
    return truncated_;
  }
  std::string failureLog() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& line : failureLog_) {
      out += line + "\n";
    }
    return out;
  }

 private:
  const Clock::time_point started_ = Clock::now();
  mutable std::mutex mutex_;
  std::atomic<bool> stopping_{false};
  int total_ = 0;
  int failures_ = 0;
  int truncated_ = 0;
  Counts instances_;
  std::vector<std::string> failureLog_;
  std::vector<std::thread> threads_;
};

std::string describe(const Counts& counts) {
  std::string out;
  for (const auto& [name, n] : counts) {
    out += name + "=" + std::to_string(n) + " ";
  }
  return out;
}

// --- distribution per algorithm ---------------------------------------------------------------
// config.workers stays 2 (proxyConfig's default): both workers pick from the one balancer of the
// upstream group, so sequential requests see one sequence whichever worker serves them.

// round_robin: 300 sequential requests over 3 backends give exactly 100 each.
TEST(ProxyResilienceTest, RoundRobinIsExactlyEven) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  auto proxy = startProxy(proxyConfig(portsOf(backends), "round_robin"));
  ASSERT_NE(proxy, nullptr);
  Counts counts = distribution(proxy->port(), 300);
  EXPECT_EQ(counts, (Counts{{"b0", 100}, {"b1", 100}, {"b2", 100}})) << describe(counts);
}

// weighted_round_robin with weights 1, 2, 3: exactly 50/100/150 of 300.
TEST(ProxyResilienceTest, WeightedRoundRobinFollowsWeightsExactly) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  auto proxy = startProxy(proxyConfig(portsOf(backends), "weighted_round_robin", {1, 2, 3}));
  ASSERT_NE(proxy, nullptr);
  Counts counts = distribution(proxy->port(), 300);
  EXPECT_EQ(counts, (Counts{{"b0", 50}, {"b1", 100}, {"b2", 150}})) << describe(counts);
}

// random and p2c: every backend gets a fair share of 300 (expected 100; the bounds are ~5
// standard deviations of a binomial(300, 1/3)).
TEST(ProxyResilienceTest, RandomAndP2cShareTheLoad) {
  for (std::string algorithm : {"random", "p2c"}) {
    auto backends = startBackends(3);
    ASSERT_EQ(backends.size(), 3U);
    auto proxy = startProxy(proxyConfig(portsOf(backends), algorithm));
    ASSERT_NE(proxy, nullptr) << algorithm;
    Counts counts = distribution(proxy->port(), 300);
    EXPECT_EQ(counts.count("error"), 0U) << algorithm << ": " << describe(counts);
    for (const std::string name : {"b0", "b1", "b2"}) {
      EXPECT_GE(counts[name], 60) << algorithm << ": " << describe(counts);
      EXPECT_LE(counts[name], 140) << algorithm << ": " << describe(counts);
    }
  }
}

// least_connections: 30 concurrent slow requests are spread 10/10/10 while all are in flight.
TEST(ProxyResilienceTest, LeastConnectionsSpreadsInFlightRequests) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  auto proxy = startProxy(proxyConfig(portsOf(backends), "least_connections"));
  ASSERT_NE(proxy, nullptr);
  constexpr int kRequests = 30;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(std::make_unique<RawClient>(proxy->port()));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->send("GET /x?delay=1s HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  std::vector<std::int64_t> inFlight;
  bool allInFlight = eventually(
      [&] {
        inFlight.clear();
        std::int64_t total = 0;
        for (const auto& endpoint : proxy->metrics().endpoints) {
          inFlight.push_back(endpoint.inFlight);
          total += endpoint.inFlight;
        }
        return total == kRequests;
      },
      3s);
  ASSERT_TRUE(allInFlight) << "never saw all " << kRequests << " requests in flight at once";
  EXPECT_EQ(inFlight, (std::vector<std::int64_t>{10, 10, 10}));
  Counts counts;
  for (auto& client : clients) {
    auto response = client->read();
    ++counts[response && response->status == 200 ? response->header("x-echo-instance").value_or("?")
                                                 : "error"];
  }
  EXPECT_EQ(counts, (Counts{{"b0", 10}, {"b1", 10}, {"b2", 10}})) << describe(counts);
}

// consistent_hash without a hash header: every request from one client address (here all come
// from 127.0.0.1, on fresh connections) goes to the same backend.
TEST(ProxyResilienceTest, ConsistentHashKeepsAClientAddressOnOneBackend) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  auto proxy = startProxy(proxyConfig(portsOf(backends), "consistent_hash"));
  ASSERT_NE(proxy, nullptr);
  Counts counts;
  for (int i = 0; i < 30; ++i) {
    auto response = get(proxy->port(), "/x");
    ++counts[response && response->status == 200 ? response->header("x-echo-instance").value_or("?")
                                                 : "error"];
  }
  EXPECT_EQ(counts.size(), 1U) << describe(counts);
  EXPECT_EQ(counts.count("error"), 0U) << describe(counts);
}

// consistent_hash with load_balancer.hash_header: requests carrying one key go to one backend;
// different keys spread over the backends.
TEST(ProxyResilienceTest, ConsistentHashKeepsAHeaderKeyOnOneBackend) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  proxy::Config config = proxyConfig(portsOf(backends), "consistent_hash");
  config.upstreams[0].hashHeader = "X-User";
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  std::set<std::string> used;
  std::string split;  // keys whose requests went to more than one backend
  for (int user = 0; user < 20; ++user) {
    Counts counts;
    for (int i = 0; i < 5; ++i) {
      auto response = get(proxy->port(), "/x", "X-User: user-" + std::to_string(user) + "\r\n");
      ++counts[response && response->status == 200
                   ? response->header("x-echo-instance").value_or("?")
                   : "error"];
    }
    if (counts.size() == 1) {
      used.insert(counts.begin()->first);
    } else {
      split += "user-" + std::to_string(user) + ": " + describe(counts) + "\n";
    }
  }
  EXPECT_TRUE(split.empty()) << split;
  EXPECT_GE(used.size(), 2U) << "20 keys all hashed to one backend";
}

// consistent_hash and retries: a key whose backend refuses connections is retried on another
// backend (the retry must not hash to the same dead endpoint again).
TEST(ProxyResilienceTest, ConsistentHashRetriesElsewhereWhenTheKeysBackendIsDown) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  proxy::Config config = proxyConfig(portsOf(backends), "consistent_hash");
  config.upstreams[0].hashHeader = "X-User";
  backends[0]->stop();  // refuses connections; no health checks, so it stays in the ring
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  Counts counts;
  for (int user = 0; user < 30; ++user) {
    auto response = get(proxy->port(), "/x", "X-User: user-" + std::to_string(user) + "\r\n");
    ++counts[response && response->status == 200
                 ? response->header("x-echo-instance").value_or("?")
                 : "status " + std::to_string(response ? response->status : 0)];
  }
  EXPECT_EQ(counts["b1"] + counts["b2"], 30) << describe(counts);
}

// --- health ------------------------------------------------------------------------------------

// Active checks: a killed backend is taken out within a few probe intervals and put back once it
// listens again on its port; meanwhile no GET fails (connect failures and resets are retried on
// another backend).
TEST(ProxyResilienceTest, KilledBackendIsEjectedAndRestoredWithoutClientErrors) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  proxy::Config config = proxyConfig(portsOf(backends));
  health::HealthCheckConfig check;
  check.probe.path = "/health";
  check.probe.timeout = 200ms;
  check.interval = 100ms;
  check.fall = 2;
  check.rise = 1;
  config.upstreams[0].healthCheck = check;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  Traffic traffic(proxy->port(), "/x", 2);
  ASSERT_TRUE(eventually([&] { return traffic.count("b1") >= 10; }));

  const std::uint16_t port1 = backends[1]->port();
  auto killedAt = Clock::now();
  auto killedMs = traffic.elapsed();
  backends[1]->stop();
  ASSERT_TRUE(eventually(
      [&] {
        auto b1 = endpointState(*proxy, "b1");
        return b1 && !b1->healthUp && !b1->available;
      },
      5s))
      << "b1 never marked down";
  auto detection = Clock::now() - killedAt;
  // fall (2) × interval (100 ms) + a probe timeout, with a wide margin for a loaded machine.
  EXPECT_LT(detection, 2s);

  // Once it is down it gets no tries: its request counter stands still while traffic flows.
  std::uint64_t triesAtEjection = endpointState(*proxy, "b1")->requests;
  int totalAtEjection = traffic.total();
  ASSERT_TRUE(eventually([&] { return traffic.total() >= totalAtEjection + 100; }));
  EXPECT_EQ(endpointState(*proxy, "b1")->requests, triesAtEjection);

  // It comes back on the same port.
  echo::Options options;
  options.port = port1;
  auto revivedMs = traffic.elapsed();
  auto revived = startBackend("b1", options);
  ASSERT_NE(revived, nullptr) << "cannot rebind port " << port1;
  int servedBefore = traffic.count("b1");
  ASSERT_TRUE(eventually(
      [&] {
        auto b1 = endpointState(*proxy, "b1");
        return b1 && b1->healthUp && b1->available;
      },
      5s))
      << "b1 never restored";
  ASSERT_TRUE(eventually([&] { return traffic.count("b1") > servedBefore + 10; }))
      << "b1 restored but receives no requests";
  traffic.stop();
  std::cout << "[ measured ] b1 down after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(detection).count() << " ms; "
            << traffic.total() << " GETs, " << traffic.failures() << " failed ("
            << traffic.truncated() << " cut short after their head)\n";
  auto metrics = proxy->metrics();
  // A response b1 was sending when it died can only be cut short once its head reached the
  // client (at most one per traffic thread); every other request must succeed.
  EXPECT_LE(traffic.truncated(), 2);
  EXPECT_EQ(traffic.failures() - traffic.truncated(), 0)
      << "upstream resets " << metrics.upstreamResets << ", connect failures "
      << metrics.upstreamConnectFailures << ", retries " << metrics.retries
      << ", aborted exchanges " << metrics.responses[0] << "; failures of " << traffic.total()
      << " (b1 killed at " << killedMs.count() << " ms, restarted at " << revivedMs.count()
      << " ms):\n"
      << traffic.failureLog();
}

// Passive outlier detection catches a gray failure: a backend whose /health passes but whose
// every request gets 503 is ejected after 3 in a row; GETs keep succeeding (503 is retried).
TEST(ProxyResilienceTest, GrayFailureIsEjectedByOutlierDetection) {
  auto backends = startBackends(2);
  ASSERT_EQ(backends.size(), 2U);
  echo::Options failing;
  failing.errorRate = 1.0;
  failing.errorStatus = 503;
  backends.push_back(startBackend("b2", failing));
  ASSERT_NE(backends.back(), nullptr);
  proxy::Config config = proxyConfig(portsOf(backends));
  config.upstreams[0].outlier.consecutive5xx = 3;
  config.upstreams[0].outlier.alwaysEjectOneHost = true;
  health::HealthCheckConfig check;  // passes for b2 as well: only real traffic shows the failure
  check.probe.timeout = 200ms;
  check.interval = 100ms;
  check.fall = 1;
  check.rise = 1;
  config.upstreams[0].healthCheck = check;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  KeepAliveClient client(proxy->port());
  Counts counts;
  for (int i = 0; i < 30; ++i) {
    auto outcome = client.request("GET", "/x");
    ++counts[outcome.status == 200 ? outcome.instance : "status " + std::to_string(outcome.status)];
  }
  EXPECT_EQ(counts.count("b2"), 0U);
  EXPECT_EQ(counts["b0"] + counts["b1"], 30) << describe(counts);
  auto b2 = endpointState(*proxy, "b2");
  ASSERT_TRUE(b2);
  EXPECT_TRUE(b2->ejected);
  EXPECT_TRUE(b2->healthUp);
  EXPECT_FALSE(b2->available);
  EXPECT_LE(b2->requests, 3U) << "tried after its ejection";
  EXPECT_GE(proxy->metrics().retries, 3U);
}

// --- breakers ----------------------------------------------------------------------------------

// A breaker opens after 2 failures in a row and each failed half-open probe reopens it for twice
// as long: the open intervals observed from outside grow 200 ms, 400 ms, 800 ms.
TEST(ProxyResilienceTest, BreakerOpenIntervalsGrow) {
  echo::Options failing;
  failing.errorRate = 1.0;
  failing.errorStatus = 500;
  // A slow failure keeps the breaker half-open long enough for the poll below to see it.
  failing.latency.a = 50ms;
  std::vector<std::unique_ptr<echo::EchoServer>> backends;
  backends.push_back(startBackend("b0", failing));
  backends.push_back(startBackend("b1", {}));
  ASSERT_NE(backends[0], nullptr);
  ASSERT_NE(backends[1], nullptr);
  proxy::Config config = proxyConfig(portsOf(backends));
  breaker::Config breakerConfig;
  breakerConfig.consecutiveFailures = 2;
  breakerConfig.backoff.base = 200ms;
  breakerConfig.backoff.multiplier = 2.0;
  breakerConfig.backoff.max = 10s;
  breakerConfig.backoff.jitter = breaker::Jitter::kNone;
  config.upstreams[0].breaker = breakerConfig;
  config.upstreams[0].retry.attempts = 1;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  Traffic traffic(proxy->port(), "/x", 2);
  std::vector<std::chrono::milliseconds> open;
  std::vector<std::string> states;
  bool inOpen = false;
  Clock::time_point openedAt;
  auto deadline = Clock::now() + 8s;
  while (open.size() < 3 && Clock::now() < deadline) {
    std::string state =
        endpointState(*proxy, "b0").value_or(proxy::MetricsSnapshot::Endpoint{}).breaker;
    auto now = Clock::now();
    if (states.empty() || states.back() != state) {
      states.push_back(state);
    }
    if (state == "open" && !inOpen) {
      inOpen = true;
      openedAt = now;
    } else if (state != "open" && inOpen) {
      inOpen = false;
      open.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(now - openedAt));
    }
    ::poll(nullptr, 0, 2);
  }
  traffic.stop();
  std::string seen;
  for (const auto& s : states) {
    seen += s + " ";
  }
  ASSERT_GE(open.size(), 3U) << "states seen: " << seen;
  std::cout << "[ measured ] breaker open intervals: " << open[0].count() << " ms, "
            << open[1].count() << " ms, " << open[2].count() << " ms\n";
  EXPECT_GE(open[0], 180ms);
  EXPECT_GT(open[1], open[0]);
  EXPECT_GE(open[1], 350ms);
  EXPECT_GT(open[2], open[1]);
  EXPECT_GE(open[2], 700ms);
  // b1 served the traffic in the meantime.
  EXPECT_GT(traffic.count("b1"), 0);
}

// --- retries -----------------------------------------------------------------------------------

// A retryable status (503) is retried on the other backend for GET; a POST that reached a backend
// is never resent, so POSTs that land on the failing backend return its 503.
TEST(ProxyResilienceTest, RetriesIdempotentRequestsOnStatusButNotPosts) {
  echo::Options failing;
  failing.errorRate = 1.0;
  failing.errorStatus = 503;
  std::vector<std::unique_ptr<echo::EchoServer>> backends;
  backends.push_back(startBackend("b0", failing));
  backends.push_back(startBackend("b1", {}));
  ASSERT_NE(backends[0], nullptr);
  ASSERT_NE(backends[1], nullptr);
  proxy::Config config = proxyConfig(portsOf(backends), "round_robin");
  config.upstreams[0].retry.attempts = 2;
  config.upstreams[0].retry.onStatuses = {503};
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  KeepAliveClient client(proxy->port());
  Counts gets;
  for (int i = 0; i < 20; ++i) {
    auto outcome = client.request("GET", "/x");
    ++gets[std::to_string(outcome.status) + " " + outcome.instance];
  }
  EXPECT_EQ(gets, (Counts{{"200 b1", 20}})) << describe(gets);
  EXPECT_GE(proxy->metrics().retries, 1U);

  std::uint64_t b0Before = backends[0]->requestCount();
  Counts posts;
  for (int i = 0; i < 20; ++i) {
    auto outcome = client.request("POST", "/x", "payload");
    ++posts[std::to_string(outcome.status) + " " + outcome.instance];
  }
  const int reachedB0 = static_cast<int>(backends[0]->requestCount() - b0Before);
  EXPECT_GT(reachedB0, 0);
  EXPECT_EQ(posts["503 b0"], reachedB0) << describe(posts);
  EXPECT_EQ(posts["200 b1"], 20 - reachedB0) << describe(posts);
}

// A connection refused means the request was never sent: GETs and POSTs alike are retried on
// another backend, and no client sees an error.
TEST(ProxyResilienceTest, ConnectFailuresAreRetriedForEveryMethod) {
  auto backends = startBackends(2);
  ASSERT_EQ(backends.size(), 2U);
  proxy::Config config = proxyConfig(portsOf(backends), "round_robin");
  backends[0]->stop();  // refuses connections from the start
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  KeepAliveClient client(proxy->port());
  Counts outcomes;
  for (int i = 0; i < 20; ++i) {
    auto get = client.request("GET", "/x");
    ++outcomes["GET " + std::to_string(get.status) + " " + get.instance];
    auto post = client.request("POST", "/echo", "body-" + std::to_string(i));
    ++outcomes["POST " + std::to_string(post.status) + " " + post.instance];
  }
  EXPECT_EQ(outcomes, (Counts{{"GET 200 b1", 20}, {"POST 200 b1", 20}})) << describe(outcomes);
  auto metrics = proxy->metrics();
  EXPECT_GT(metrics.retries, 0U);
  EXPECT_GT(metrics.upstreamConnectFailures, 0U);
  EXPECT_EQ(metrics.retries, metrics.upstreamConnectFailures);
}

// "The next try goes to another endpoint", whatever the algorithm: with one of two backends
// refusing connections, every GET is answered by the other one.
TEST(ProxyResilienceTest, RetriesGoToAnotherBackendForEveryAlgorithm) {
  for (std::string algorithm :
       {"round_robin", "weighted_round_robin", "least_connections", "random", "p2c", "peak_ewma"}) {
    auto backends = startBackends(2);
    ASSERT_EQ(backends.size(), 2U);
    proxy::Config config = proxyConfig(portsOf(backends), algorithm);
    config.upstreams[0].retry.backoffBase = 1ms;  // not what this test is about; keeps it short
    backends[0]->stop();
    auto proxy = startProxy(config);
    ASSERT_NE(proxy, nullptr) << algorithm;
    KeepAliveClient client(proxy->port());
    Counts counts;
    for (int i = 0; i < 40; ++i) {
      auto outcome = client.request("GET", "/x");
      ++counts[outcome.status == 200 ? outcome.instance
                                     : "status " + std::to_string(outcome.status)];
    }
    EXPECT_EQ(counts, (Counts{{"b1", 40}}))
        << algorithm << ": " << describe(counts) << "(retries " << proxy->metrics().retries << ")";
  }
}

// The retry budget caps retries in flight at max(min_retries_in_flight, budget_percent × active
// requests): with 20 concurrent GETs, a budget of 10% and a minimum of 1, at most 2 of the GETs
// that got a 503 are retried (each retry stays in flight for 1 s on the slow backend); the rest
// return the 503.
TEST(ProxyResilienceTest, RetryBudgetCapsRetriesInFlight) {
  echo::Options failing;
  failing.errorRate = 1.0;
  failing.errorStatus = 503;
  echo::Options slow;
  slow.latency.a = 1s;
  std::vector<std::unique_ptr<echo::EchoServer>> backends;
  backends.push_back(startBackend("b0", failing));
  backends.push_back(startBackend("b1", slow));
  ASSERT_NE(backends[0], nullptr);
  ASSERT_NE(backends[1], nullptr);
  proxy::Config config = proxyConfig(portsOf(backends), "round_robin");
  config.upstreams[0].retry.attempts = 2;
  config.upstreams[0].retry.onStatuses = {503};
  config.upstreams[0].retry.budgetPercent = 10.0;
  config.upstreams[0].retry.minRetriesInFlight = 1;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  constexpr int kRequests = 20;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(std::make_unique<RawClient>(proxy->port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (auto& client : clients) {  // back to back, so that all are active together
    ASSERT_TRUE(client->send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  Counts counts;
  for (auto& client : clients) {
    auto response = client->read(10s);
    ++counts[response ? std::to_string(response->status) : "none"];
  }
  const auto reachedB0 = static_cast<int>(backends[0]->requestCount());
  const auto retries = static_cast<int>(proxy->metrics().retries);
  ASSERT_GE(reachedB0, 5) << "too few requests met the failing backend to test the budget";
  EXPECT_LE(retries, 2) << describe(counts);
  EXPECT_EQ(counts["503"], reachedB0 - retries) << describe(counts);
  EXPECT_EQ(counts["200"], kRequests - counts["503"]) << describe(counts);
}

// --- streaming ---------------------------------------------------------------------------------

// A response far larger than the proxy's buffers (8 MiB; the high-water mark is 256 KiB) streams
// to a client that reads it.
TEST(ProxyResilienceTest, LargeResponseStreamsToAReadingClient) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = startProxy(proxyConfig(portsOf(backends)));
  ASSERT_NE(proxy, nullptr);
  RawClient client(proxy->port());
  ASSERT_TRUE(client.send("GET /x?size=8388608 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = client.read(10s);
  ASSERT_TRUE(response) << "stalled after " << proxy->metrics().bytesToClients
                        << " bytes sent to the client";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 8388608U);
}

// A request body far larger than the proxy's buffers (8 MiB) streams to the backend.
TEST(ProxyResilienceTest, LargeRequestBodyStreamsToTheBackend) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto proxy = startProxy(proxyConfig(portsOf(backends)));
  ASSERT_NE(proxy, nullptr);
  RawClient client(proxy->port());
  std::string body(8388608, 'b');
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n"));
  ASSERT_TRUE(client.send(body));
  auto response = client.read(10s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("\"body_length\": 8388608"), std::string::npos) << response->body;
}

// A backend that dies after sending a response head and part of the body: the client gets either
// a complete response from the other backend (nothing had reached it yet, so the GET could be
// retried) or that head and a cut-short body; never a connection closed without a byte.
TEST(ProxyResilienceTest, BackendDyingMidResponseIsNeverAnEmptyReply) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t size = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
  std::atomic<bool> served{false};
  std::thread dying([&] {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) {
      return;
    }
    int fd = ::accept(listener, nullptr, nullptr);
    char buffer[4096];
    if (fd >= 0 && ::recv(fd, buffer, sizeof buffer, 0) > 0) {
      std::string_view reply =
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Echo-Instance: dying\r\n\r\n0123456789";
      ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      served = true;
    }
    if (fd >= 0) {
      ::close(fd);  // dies 90 bytes short
    }
  });
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  proxy::Config config = proxyConfig({ntohs(address.sin_port), backends[0]->port()});
  config.workers = 1;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  KeepAliveClient client(proxy->port());
  KeepAliveClient::Outcome outcome;
  for (int i = 0; i < 2 && !served; ++i) {  // round robin: one of two requests meets it
    outcome = client.request("GET", "/x", "", 5s);
  }
  ASSERT_TRUE(served.load());
  EXPECT_TRUE((outcome.status == 200 && outcome.instance == "b1") ||
              (outcome.headSeen && outcome.instance == "dying"))
      << "status " << outcome.status << " from '" << outcome.instance << "': " << outcome.error;
  ::shutdown(listener, SHUT_RDWR);
  dying.join();
  ::close(listener);
}

// --- slow clients and timeouts -----------------------------------------------------------------

// A client stalled halfway through its request head and a client that does not read a 64 MiB
// response hold nothing that others wait for: 100 GETs on fresh connections each complete in well
// under a second. The stalled client is answered 408 (or closed) once client_header (300 ms) ends.
TEST(ProxyResilienceTest, SlowClientsDoNotDelayOthers) {
  auto backends = startBackends(2);
  ASSERT_EQ(backends.size(), 2U);
  proxy::Config config = proxyConfig(portsOf(backends));
  config.clientTimeouts.header = 300ms;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  RawClient stalled(proxy->port());
  ASSERT_TRUE(stalled.send("GET /x HTTP/1.1\r\nHost: t\r\nX-Slow:"));
  auto stalledAt = Clock::now();
  // Its fate, watched from a thread of its own while the others are served.
  std::optional<Response> stalledResponse;
  bool stalledClosed = false;
  Clock::duration answeredAfter{};
  std::thread watcher([&] {
    stalledResponse = stalled.read(5s);
    answeredAfter = Clock::now() - stalledAt;
    stalledClosed = stalled.closedWithin(3s);
  });
  RawClient nonReader(proxy->port());
  ASSERT_TRUE(nonReader.send("GET /x?size=67108864 HTTP/1.1\r\nHost: t\r\n\r\n"));
  // The big response is under way (and blocked on the client) before the others start.
  EXPECT_TRUE(eventually([&] { return proxy->metrics().bytesToClients >= 256 * 1024; }))
      << "the 64 MiB response is not streaming (" << proxy->metrics().bytesToClients
      << " bytes sent to clients)";

  Clock::duration slowest{0};
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    auto start = Clock::now();
    auto response = get(proxy->port(), "/x?size=1024");
    slowest = std::max(slowest, Clock::now() - start);
    ok += response && response->status == 200 && response->body.size() == 1024 ? 1 : 0;
  }
  EXPECT_EQ(ok, 100);
  EXPECT_LT(slowest, 1s) << "slowest GET took "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
                         << " ms";

  watcher.join();
  if (stalledResponse) {
    EXPECT_EQ(stalledResponse->status, 408);
  }
  EXPECT_TRUE(stalledClosed) << "the stalled client was left open";
  EXPECT_GE(answeredAfter, 250ms) << "cut off before client_header";
  EXPECT_LT(answeredAfter, 3s);
  EXPECT_GE(proxy->metrics().clientTimeouts, 1U);

  // The non-reader's response is still there for it to read, from its first byte.
  char start[12] = {0};
  EXPECT_EQ(::recv(nonReader.fd(), start, sizeof start, MSG_PEEK | MSG_DONTWAIT), 12);
  EXPECT_EQ(std::string_view(start, sizeof start), "HTTP/1.1 200");
}

// timeouts.response: a backend that takes 2 s to answer gets the client a 504 after ~200 ms.
TEST(ProxyResilienceTest, UpstreamResponseTimeoutIs504) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  proxy::Config config = proxyConfig(portsOf(backends));
  config.upstreams[0].timeouts.response = 200ms;
  config.upstreams[0].retry.attempts = 1;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  auto start = Clock::now();
  auto response = get(proxy->port(), "/x?delay=2s");
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_GE(elapsed, 180ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_GE(proxy->metrics().upstreamTimeouts, 1U);
}

// --- connection limit --------------------------------------------------------------------------

// limits.max_connections = 5: a 6th concurrent connection is closed at once; once one of the five
// closes, a new connection is served.
TEST(ProxyResilienceTest, MaxConnectionsRefusesTheSixth) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  proxy::Config config = proxyConfig(portsOf(backends));
  config.limits.maxConnections = 5;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);

  std::vector<std::unique_ptr<KeepAliveClient>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<KeepAliveClient>(proxy->port()));
    EXPECT_EQ(held.back()->request("GET", "/x").status, 200) << "connection " << i;
  }
  RawClient sixth(proxy->port());
  ASSERT_TRUE(sixth.connected());  // the kernel completes the handshake; the proxy closes it
  EXPECT_TRUE(sixth.closedWithin(2s)) << "the 6th connection was kept";
  EXPECT_TRUE(sixth.pending().empty());
  EXPECT_GE(proxy->metrics().refused, 1U);

  held.erase(held.begin());
  ASSERT_TRUE(eventually([&] { return proxy->metrics().activeConnections == 4; }));
  auto response = get(proxy->port(), "/x");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  // The four others still work.
  for (auto& client : held) {
    EXPECT_EQ(client->request("GET", "/x").status, 200);
  }
}

}  // namespace
}  // namespace fairway::testing
