// Uses fairway's libraries as installed packages: builds one object from each and checks a result
// that only working code gives (the smooth weighted round-robin order, a breaker's first decision,
// a token bucket's burst), so a broken install or export fails here.

#include <chrono>
#include <cstdio>
#include <string>

#include <fairway/balancer/balancer.hpp>
#include <fairway/balancer/version.hpp>
#include <fairway/breaker/breaker.hpp>
#include <fairway/cache/cache.hpp>
#include <fairway/cache/redis/redis_store.hpp>
#include <fairway/health/outlier_detector.hpp>
#include <fairway/proxy/config_loader.hpp>
#include <fairway/proxy/router.hpp>
#include <fairway/proxy/server.hpp>
#include <fairway/ratelimit/limiter.hpp>
#include <fairway/ratelimit/redis/shared_limiter.hpp>
#include <fairway/sim/simulation.hpp>

int main() {
  namespace lb = fairway::balancer;
  lb::Config config;
  config.algorithm = "weighted_round_robin";
  config.endpoints = {
      {"a", "127.0.0.1:3001", 5}, {"b", "127.0.0.1:3002", 1}, {"c", "127.0.0.1:3003", 1}};
  auto balancer = lb::make(config);
  if (!balancer) {
    std::fprintf(stderr, "make: %s\n", balancer.error().message.c_str());
    return 1;
  }
  std::string order;
  for (int i = 0; i < 7; ++i) {
    auto pick = balancer.value()->pick({});
    if (!pick) {
      return 1;
    }
    order += pick->endpoint->id();
    balancer.value()->release(*pick);
  }
  std::printf("fairway::balancer %s: %s\n", std::string(lb::kVersion).c_str(), order.c_str());

  const auto now = fairway::core::TimePoint(std::chrono::hours(1));
  auto breaker = fairway::breaker::make({});
  auto outliers = fairway::health::makeOutlierDetector({});
  fairway::ratelimit::Config limit;
  limit.rate = {10, 3};
  auto limiter = fairway::ratelimit::make(limit);
  auto shared = fairway::ratelimit::redis::SharedLimiter::make(limit, {});  // connects lazily
  auto cache = fairway::cache::make({});
  auto store = fairway::cache::redis::RedisStore::make({});  // connects lazily
  if (!breaker || !outliers || !limiter || !shared || !cache || !store) {
    std::fprintf(stderr, "a library failed to build its default object\n");
    return 1;
  }
  int allowed = 0;
  for (int i = 0; i < 5; ++i) {
    allowed += limiter.value()->tryAcquire("client", 1, now).allowed ? 1 : 0;
  }
  // The proxy engine: the original design's configuration loads, and routes resolve.
  auto loaded = fairway::proxy::loadConfigString(
      "server: { port: 8080 }\nbackends: [ { url: \"http://127.0.0.1:3001\" } ]\n", "yaml");
  fairway::proxy::Router router({{"", "/api", 1}, {"", "/", 0}});
  const bool proxyOk = loaded.config && loaded.config->upstreams.size() == 1 &&
                       router.match("any", "/api/x") == std::optional<std::size_t>(1) &&
                       fairway::proxy::Server::make(*loaded.config).ok();
  const bool ok =
      order == "aabacaa" && breaker.value()->allow(now).allowed && allowed == 3 && proxyOk;
  return ok ? 0 : 1;
}
