// ns per tryAcquire for each algorithm: the unkeyed value types; the keyed limiter on one hot key;
// and the keyed limiter on 1M distinct keys (pre-generated client addresses in random order,
// maxKeys = 1M, warmed up so the table is full), on 1 and 2 threads. Time advances 1 µs per call
// on each thread, at the default 100/s with a burst of 10, so hot keys are mostly denied and each
// of the 1M keys has refilled when it comes round again.
//
// Time is per call on each thread (real time); items_per_second counts all threads together.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <fairway/core/random.hpp>
#include <fairway/ratelimit/gcra.hpp>
#include <fairway/ratelimit/keyed_limiter.hpp>
#include <fairway/ratelimit/sliding_window.hpp>
#include <fairway/ratelimit/token_bucket.hpp>

namespace {

namespace rl = fairway::ratelimit;
using namespace std::chrono_literals;

const rl::TimePoint t0(std::chrono::hours(1));
constexpr std::size_t kDistinctKeys = std::size_t{1} << 20;
const char* const kAlgorithms[] = {"token_bucket", "gcra", "sliding_window"};

rl::Config configFor(const std::string& algorithm) {
  rl::Config config;
  config.algorithm = algorithm;
  config.rate = {100, 10};
  config.maxKeys = kDistinctKeys;
  return config;
}

std::unique_ptr<rl::KeyedLimiter> makeKeyed(const std::string& algorithm) {
  auto limiter = rl::KeyedLimiter::make(configFor(algorithm));
  return limiter ? std::move(limiter).value() : nullptr;
}

// 1M distinct IPv4 addresses, 10.0.0.0 to 10.15.255.255, shuffled (Fisher-Yates).
const std::vector<std::string>& distinctKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    out.reserve(kDistinctKeys);
    for (std::size_t i = 0; i < kDistinctKeys; ++i) {
      out.push_back("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                    std::to_string(i & 255));
    }
    fairway::core::Random random(0x5eed);
    for (std::size_t i = out.size() - 1; i > 0; --i) {
      std::swap(out[i], out[random.below(i + 1)]);
    }
    return out;
  }();
  return keys;
}

// A full table per algorithm, built and warmed once: every key acquired once, in order.
rl::KeyedLimiter& warmTable(const std::string& algorithm) {
  static std::map<std::string, std::unique_ptr<rl::KeyedLimiter>> tables;
  auto& table = tables[algorithm];
  if (!table) {
    table = makeKeyed(algorithm);
    rl::TimePoint now = t0;
    for (const std::string& key : distinctKeys()) {
      table->tryAcquire(key, 1, now);
      now += 1us;
    }
  }
  return *table;
}

template <typename Quota>
void unkeyed(benchmark::State& state, Quota quota) {
  rl::TimePoint now = t0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(quota.tryAcquire(1, now));
    now += 1us;
  }
  state.SetItemsProcessed(state.iterations());
}

std::unique_ptr<rl::KeyedLimiter> hot;  // built by thread 0 before the timed loop's start barrier

void keyedHotKey(benchmark::State& state, const std::string& algorithm) {
  if (state.thread_index() == 0) {
    hot = makeKeyed(algorithm);
  }
  rl::TimePoint now = t0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hot->tryAcquire("203.0.113.7", 1, now));
    now += 1us;
  }
  state.SetItemsProcessed(state.iterations());
}

void keyedDistinctKeys(benchmark::State& state, const std::string& algorithm) {
  const std::vector<std::string>& keys = distinctKeys();
  rl::KeyedLimiter* table = nullptr;
  {
    static std::mutex mutex;  // both threads warm the same table; one builds it
    std::lock_guard lock(mutex);
    table = &warmTable(algorithm);
  }
  // Each thread walks the shuffled keys from its own offset; time goes on from the warm-up.
  std::size_t next = (keys.size() / 2) * static_cast<std::size_t>(state.thread_index());
  rl::TimePoint now = t0 + std::chrono::microseconds(keys.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(table->tryAcquire(keys[next], 1, now));
    next = next + 1 == keys.size() ? 0 : next + 1;
    now += 1us;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const rl::KeyedLimiterStats stats = table->stats();
    state.counters["keys_held"] = static_cast<double>(stats.keys);
  }
}

// Registered before main(), so BENCHMARK_MAIN() runs them.
[[maybe_unused]] const bool registered = [] {
  const rl::Rate rate{100, 10};
  benchmark::RegisterBenchmark("unkeyed/token_bucket",
                               [rate](benchmark::State& s) { unkeyed(s, rl::TokenBucket(rate)); });
  benchmark::RegisterBenchmark("unkeyed/gcra",
                               [rate](benchmark::State& s) { unkeyed(s, rl::Gcra(rate)); });
  benchmark::RegisterBenchmark("unkeyed/sliding_window",
                               [](benchmark::State& s) { unkeyed(s, rl::SlidingWindow(10, 1s)); });
  for (const char* algorithm : kAlgorithms) {
    benchmark::RegisterBenchmark(("keyed/" + std::string(algorithm) + "/hot_key").c_str(),
                                 [algorithm](benchmark::State& s) { keyedHotKey(s, algorithm); })
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  for (const char* algorithm : kAlgorithms) {
    benchmark::RegisterBenchmark(
        ("keyed/" + std::string(algorithm) + "/distinct_keys:1048576").c_str(),
        [algorithm](benchmark::State& s) { keyedDistinctKeys(s, algorithm); })
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
