// Route lookup (host + longest path prefix) as the route table grows: the trie walk costs the
// length of the path, not the number of routes (issue #5: O(log n) or better).

#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <fairway/core/random.hpp>
#include <fairway/proxy/router.hpp>

namespace {

using fairway::proxy::Router;

std::vector<Router::Route> makeRoutes(std::size_t count, bool withHosts) {
  std::vector<Router::Route> routes;
  routes.push_back({"", "/", 0});
  for (std::size_t i = 0; routes.size() < count; ++i) {
    std::string host = withHosts ? "svc" + std::to_string(i % 64) + ".example.com" : "";
    routes.push_back({host, "/service" + std::to_string(i) + "/v1", i});
    if (routes.size() < count) {
      routes.push_back({host, "/service" + std::to_string(i) + "/v1/admin", i + 1});
    }
  }
  return routes;
}

void routeLookup(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const bool withHosts = state.range(1) != 0;
  Router router(makeRoutes(count, withHosts));
  fairway::core::Random random(42);
  std::vector<std::pair<std::string, std::string>> requests;
  for (int i = 0; i < 1024; ++i) {
    std::size_t service = random.below(count / 2 + 1);
    requests.emplace_back(withHosts ? "svc" + std::to_string(service % 64) + ".example.com" : "h",
                          "/service" + std::to_string(service) + "/v1/users/12345?full=1");
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& [host, path] = requests[i++ & 1023];
    benchmark::DoNotOptimize(router.match(host, path));
  }
  state.counters["routes"] = static_cast<double>(router.size());
}
BENCHMARK(routeLookup)
    ->ArgNames({"routes", "hosts"})
    ->Args({10, 0})
    ->Args({1000, 0})
    ->Args({100000, 0})
    ->Args({10, 1})
    ->Args({1000, 1})
    ->Args({100000, 1});

}  // namespace

BENCHMARK_MAIN();
