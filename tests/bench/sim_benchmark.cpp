// Simulated requests per second of wall time, one core: a 10-backend scenario at 70% load with
// active health checks (1s), a breaker per backend, client timeouts, exponential service times.
// The target (issue 7) is 2 million for p2c. Each iteration simulates 20s of traffic (~56,000
// requests, ~200,000 events); items/s is what to read. Variants: other algorithms, and the same
// scenario with a crash, a gray slow-down, outlier detection and retries.

#include <string>

#include <benchmark/benchmark.h>

#include <fairway/sim/scenario.hpp>
#include <fairway/sim/simulation.hpp>

namespace {

namespace sim = fairway::sim;

const char* const kSteady = R"(
duration: 20s
seed: 1
backends:
  - {id: b, count: 10, servers: 4, queue: 1000, service: {dist: exponential, mean: 10ms}}
traffic:
  - {kind: poisson, rate: 2800}
health_check: {interval: 1s, timeout: 500ms, rise: 2, fall: 3}
breaker: {consecutive_failures: 5, backoff: {base: 1s, multiplier: 2, max: 30s}}
)";

const char* const kFaults = R"(
outlier: {consecutive_5xx: 5, max_ejection_percent: 20}
faults:
  - {backend: b3, kind: crash, at: 5s, until: 12s}
  - {backend: b7, kind: slow, factor: 6, at: 8s, until: 18s, gray: true}
client: {timeout: 1s, retries: {max: 2, budget: {percent: 20}}}
)";

void simulate(benchmark::State& state, const std::string& algorithm, bool faults) {
  const std::string yaml = std::string(kSteady) + (faults ? kFaults : "client: {timeout: 1s}\n");
  auto scenario = sim::parseScenario(yaml);
  if (!scenario) {
    state.SkipWithError(scenario.error().message.c_str());
    return;
  }
  std::uint64_t requests = 0;
  std::uint64_t events = 0;
  std::uint64_t slots = 0;
  std::uint64_t seed = 1;
  for (auto _ : state) {
    auto results =
        sim::simulate(scenario.value(), {.algorithm = algorithm, .seed = seed++, .progress = {}});
    if (!results) {
      state.SkipWithError(results.error().message.c_str());
      return;
    }
    requests += results.value().requests;
    events += results.value().eventsProcessed;
    slots = std::max(slots, results.value().requestSlots);
    benchmark::DoNotOptimize(results.value().goodput);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(requests));
  state.counters["events_per_request"] =
      requests == 0 ? 0 : static_cast<double>(events) / static_cast<double>(requests);
  state.counters["request_slots"] = static_cast<double>(slots);
}

// Registered before main(), so BENCHMARK_MAIN() runs them.
[[maybe_unused]] const bool registered = [] {
  for (const char* algorithm :
       {"p2c", "round_robin", "least_connections", "weighted_round_robin", "peak_ewma"}) {
    benchmark::RegisterBenchmark(
        (std::string("steady/") + algorithm).c_str(),
        [algorithm](benchmark::State& s) { simulate(s, algorithm, false); })
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("faults/p2c", [](benchmark::State& s) {
    simulate(s, "p2c", true);
  })->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
