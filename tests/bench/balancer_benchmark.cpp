// ns per pick for every algorithm at 2 to 10,000 endpoints, on 1 and 2 threads. One iteration is a
// pick and its release: a pick alone would let in-flight counts grow without bound, which no real
// caller does. Each thread brings its own Random, as each proxy worker does. Weights cycle 1..5.

#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include <fairway/balancer/balancer.hpp>

namespace {

namespace lb = fairway::balancer;

std::unique_ptr<lb::Balancer> makeBalancer(const std::string& algorithm, int endpoints) {
  lb::Config config;
  config.algorithm = algorithm;
  for (int i = 0; i < endpoints; ++i) {
    config.endpoints.push_back({"endpoint-" + std::to_string(i),
                                "10.0.0." + std::to_string(i % 250) + ":8080", 1 + i % 5, true});
  }
  auto balancer = lb::make(config);
  return balancer ? std::move(balancer).value() : nullptr;
}

std::unique_ptr<lb::Balancer> shared;  // built by thread 0 before the timed loop's start barrier

void pickAndRelease(benchmark::State& state, const std::string& algorithm) {
  if (state.thread_index() == 0) {
    shared = makeBalancer(algorithm, static_cast<int>(state.range(0)));
  }
  lb::Random random(0x5eed + static_cast<std::uint64_t>(state.thread_index()));
  const lb::TimePoint now(std::chrono::hours(1));
  const bool hashed = algorithm == "consistent_hash";
  for (auto _ : state) {
    lb::PickContext context{now, std::nullopt, &random};
    if (hashed) {
      context.hash = random.next();
    }
    auto pick = shared->pick(context);
    benchmark::DoNotOptimize(pick);
    shared->release(*pick, {now, std::chrono::microseconds(500)});
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["endpoints"] = static_cast<double>(state.range(0));
  }
}

// Registered before main(), so BENCHMARK_MAIN() runs them.
[[maybe_unused]] const bool registered = [] {
  for (const char* algorithm : {"round_robin", "weighted_round_robin", "least_connections",
                                "random", "p2c", "consistent_hash", "peak_ewma"}) {
    benchmark::RegisterBenchmark(("pick/" + std::string(algorithm)).c_str(),
                                 [algorithm](benchmark::State& s) { pickAndRelease(s, algorithm); })
        ->ArgName("endpoints")
        ->Arg(2)
        ->Arg(10)
        ->Arg(100)
        ->Arg(1000)
        ->Arg(10000)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
