// ns per call on the health library's hot paths:
// - recordOutcome on the passive detector, 10 to 1,000 endpoints, 1 and 2 threads: all successes
//   (the common case: shared lock, one hash lookup, no writes), and a mix with 10% 503s and
//   failure-percentage windows on (atomic increments, occasional ejections under the lock).
// - recordProbe on the active checker, 10 to 1,000 endpoints: one lock, a map lookup, the state
//   machine and a reschedule; results alternate so that endpoints keep changing state and
//   observers are notified.
// Each thread brings its own Random and its own timeline, as each proxy worker would.

#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>

namespace {

namespace health = fairway::health;
using namespace std::chrono_literals;

const health::TimePoint t0(std::chrono::hours(1));

std::vector<std::string> idsFor(int endpoints) {
  std::vector<std::string> ids;
  for (int i = 0; i < endpoints; ++i) {
    ids.push_back("endpoint-" + std::to_string(i));
  }
  return ids;
}

// Counts events, so that notification costs are part of the figures.
class CountingObserver final : public health::Observer {
 public:
  // fairway::health::Observer
  void onHealthChange(const health::HealthEvent&) override { ++events; }
  std::uint64_t events = 0;  // delivery is serialised: no race
};

std::unique_ptr<health::OutlierDetector> detector;  // built by thread 0 before the start barrier
std::vector<std::string> detectorIds;

void recordOutcome(benchmark::State& state, bool mixed) {
  if (state.thread_index() == 0) {
    health::OutlierConfig config;
    config.maxEjectionPercent = 20;
    if (mixed) {
      config.failurePercentageThreshold = 85;
    }
    detector = health::makeOutlierDetector(config).value();
    detectorIds = idsFor(static_cast<int>(state.range(0)));
    for (const std::string& id : detectorIds) {
      (void)detector->add(id);
    }
    detector->subscribe(std::make_shared<CountingObserver>());
    detector->update(t0);
  }
  health::Random random(0x5eed + static_cast<std::uint64_t>(state.thread_index()));
  const auto n = static_cast<std::uint64_t>(state.range(0));
  health::TimePoint now = t0;
  for (auto _ : state) {
    now += 10us;
    const std::string& id = detectorIds[random.below(n)];
    const bool fail = mixed && random.below(10) == 0;
    benchmark::DoNotOptimize(
        detector->recordOutcome(id, health::Outcome::response(fail ? 503 : 200), now));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["endpoints"] = static_cast<double>(state.range(0));
  }
}

void recordProbe(benchmark::State& state) {
  health::HealthCheckConfig config;
  config.rise = 2;
  config.fall = 2;
  config.interval = 5s;
  config.fastInterval = 1s;
  config.jitterPercent = 10;
  auto checker = health::makeHealthChecker(config).value();
  const std::vector<std::string> ids = idsFor(static_cast<int>(state.range(0)));
  for (const std::string& id : ids) {
    (void)checker->add(id, "10.0.0.1:80", t0);
  }
  checker->subscribe(std::make_shared<CountingObserver>());
  const health::ProbeResult ok{true, 2ms, 200, {}};
  const health::ProbeResult failed{false, 10s, 0, "timeout"};
  health::Random random(0x5eed);
  health::TimePoint now = t0;
  std::uint64_t i = 0;
  for (auto _ : state) {
    now += 1ms;
    const std::string& id = ids[random.below(ids.size())];
    // Runs of four: down after two failures, up again after two successes.
    benchmark::DoNotOptimize(checker->recordProbe(id, (i++ / 4) % 2 == 0 ? failed : ok, now));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["endpoints"] = static_cast<double>(state.range(0));
}

// Registered before main(), so BENCHMARK_MAIN() runs them.
[[maybe_unused]] const bool registered = [] {
  for (const bool mixed : {false, true}) {
    benchmark::RegisterBenchmark(mixed ? "recordOutcome/mixed" : "recordOutcome/success",
                                 [mixed](benchmark::State& s) { recordOutcome(s, mixed); })
        ->ArgName("endpoints")
        ->Arg(10)
        ->Arg(100)
        ->Arg(1000)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("recordProbe", recordProbe)
      ->ArgName("endpoints")
      ->Arg(10)
      ->Arg(100)
      ->Arg(1000)
      ->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
