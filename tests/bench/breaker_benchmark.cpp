// ns per allow() + record() on one endpoint's breaker in the closed state (every call succeeds),
// the request path's cost of the breaker, on 1 and 2 threads sharing the breaker. Variants: only
// consecutive failures (no window), a 100-call count window, a 60s time window of 10 buckets (now
// advancing 1µs per call, so buckets roll over), and the rejection path of an open breaker.

#include <chrono>
#include <memory>

#include <benchmark/benchmark.h>

#include <fairway/breaker/breaker.hpp>

namespace {

namespace br = fairway::breaker;
using namespace std::chrono_literals;

enum class Variant { kConsecutive, kCountWindow, kTimeWindow };

br::Config configFor(Variant variant) {
  br::Config config;
  config.consecutiveFailures = 5;
  if (variant != Variant::kConsecutive) {
    config.failureRate = br::FailureRateConfig{.threshold = 50};
    config.slowCall = br::SlowCallConfig{.duration = 1s, .threshold = 80};
  }
  if (variant == Variant::kTimeWindow) {
    config.window = {.kind = br::WindowConfig::Kind::kTime, .duration = 60s, .buckets = 10};
  }
  return config;
}

std::unique_ptr<br::Breaker> shared;  // built by thread 0 before the timed loop's start barrier

void allowAndRecord(benchmark::State& state, Variant variant) {
  if (state.thread_index() == 0) {
    shared = std::move(br::make(configFor(variant))).value();
  }
  br::TimePoint now(std::chrono::hours(1));
  for (auto _ : state) {
    const br::Decision decision = shared->allow(now);
    benchmark::DoNotOptimize(decision);
    shared->record(br::Outcome::kSuccess, 500us, now);
    now += 1us;
  }
  state.SetItemsProcessed(state.iterations());
}

// An open breaker answering rejections (with a retry instant) under load.
void rejectWhileOpen(benchmark::State& state) {
  if (state.thread_index() == 0) {
    br::Config config;
    config.consecutiveFailures = 1;
    config.backoff.base = 1h;
    config.backoff.max = 1h;
    shared = std::move(br::make(config)).value();
    const br::TimePoint t0(std::chrono::hours(1));
    (void)shared->allow(t0);
    shared->record(br::Outcome::kFailure, t0);
  }
  br::TimePoint now(std::chrono::hours(1));
  for (auto _ : state) {
    const br::Decision decision = shared->allow(now);
    benchmark::DoNotOptimize(decision);
    now += 1us;
  }
  state.SetItemsProcessed(state.iterations());
}

// Registered before main(), so BENCHMARK_MAIN() runs them.
[[maybe_unused]] const bool registered = [] {
  const struct {
    const char* name;
    Variant variant;
  } variants[] = {{"allow_record/consecutive", Variant::kConsecutive},
                  {"allow_record/count_window", Variant::kCountWindow},
                  {"allow_record/time_window", Variant::kTimeWindow}};
  for (const auto& v : variants) {
    const Variant variant = v.variant;
    benchmark::RegisterBenchmark(v.name,
                                 [variant](benchmark::State& s) { allowAndRecord(s, variant); })
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("allow/open_rejects", rejectWhileOpen)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
