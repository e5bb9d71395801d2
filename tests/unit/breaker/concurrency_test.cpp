// Two threads on one breaker. Bounded loops, no sleeps and no time-based waits: each test starts
// both threads at a latch and joins them, then checks counts that must be exact whatever the
// interleaving. Run under ThreadSanitizer or ASan/UBSan for the memory side.

#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/breaker/breaker.hpp>
#include <fairway/core/random.hpp>

#include "test_util.hpp"

namespace fairway::breaker {
namespace {

using namespace std::chrono_literals;
using test::consecutiveConfig;
using test::makeOrDie;
using test::RecordingObserver;
using test::t0;

constexpr std::int64_t kPerThread = 10'000;

// Runs body(thread index) on two threads started together.
void onTwoThreads(const std::function<void(int)>& body) {
  std::latch start(2);
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&start, &body, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
}

// A failure-rate-only config over a count window of both threads' calls, full before it counts.
Config rateConfig(double threshold) {
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.failureRate = FailureRateConfig{.threshold = threshold};
  config.window = {
      .kind = WindowConfig::Kind::kCount, .size = 2 * kPerThread, .minimumCalls = 2 * kPerThread};
  return config;
}

// 2 × 10,000 failures against consecutive_failures = 20,000: none is lost, so the breaker trips
// exactly once, on the very last one.
TEST(BreakerConcurrencyTest, ConsecutiveFailuresFromTwoThreadsTripExactlyOnce) {
  auto observer = std::make_shared<RecordingObserver>();
  auto breaker = makeOrDie(consecutiveConfig(2 * kPerThread), {observer});
  std::atomic<int> admitted{0};

  onTwoThreads([&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      const TimePoint now = t0 + std::chrono::microseconds(i) + std::chrono::nanoseconds(thread);
      if (breaker->allow(now)) {
        admitted.fetch_add(1, std::memory_order_relaxed);
        breaker->record(Outcome::kFailure, now);
      }
    }
  });

  EXPECT_EQ(admitted.load(), 2 * kPerThread);
  EXPECT_EQ(breaker->state(), State::kOpen);
  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].detail, "20000 consecutive failures (threshold 20000)");
}

// One thread fails, the other succeeds, 10,000 calls each, into a 20,000-call window at 50%:
// the rate reaches exactly 50% on the last call and trips there, with every call counted.
TEST(BreakerConcurrencyTest, CountWindowCountsEveryCallFromTwoThreads) {
  auto observer = std::make_shared<RecordingObserver>();
  auto breaker = makeOrDie(rateConfig(50), {observer});

  onTwoThreads([&](int thread) {
    const Outcome outcome = thread == 0 ? Outcome::kFailure : Outcome::kSuccess;
    for (int i = 0; i < kPerThread; ++i) {
      const TimePoint now = t0 + std::chrono::microseconds(i);
      ASSERT_TRUE(breaker->allow(now).allowed);
      breaker->record(outcome, now);
    }
  });

  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->snapshot(t0).window, (WindowCounts{20'000, 10'000, 0}));
  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].detail, "failure rate 50% >= 50% over the last 20000 calls");
}

// Just above the rate the two threads produce, the breaker stays closed and counts every call.
TEST(BreakerConcurrencyTest, CountWindowBelowThresholdStaysClosed) {
  auto breaker = makeOrDie(rateConfig(50.01));
  onTwoThreads([&](int thread) {
    const Outcome outcome = thread == 0 ? Outcome::kFailure : Outcome::kSuccess;
    for (int i = 0; i < kPerThread; ++i) {
      breaker->record(outcome, t0);
    }
  });
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->snapshot(t0).window, (WindowCounts{20'000, 10'000, 0}));
}

// A time window fed by two threads whose instants interleave out of order counts every call.
TEST(BreakerConcurrencyTest, TimeWindowCountsEveryCallFromTwoThreads) {
  Config config = rateConfig(50.01);
  config.window = {
      .kind = WindowConfig::Kind::kTime, .duration = 1h, .buckets = 60, .minimumCalls = 4};
  config.slowCall = SlowCallConfig{.duration = 1s, .threshold = 100};
  auto breaker = makeOrDie(config);

  onTwoThreads([&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      const TimePoint now = t0 + std::chrono::milliseconds(i);
      // Thread 0: fast successes. Thread 1: every other call fails, every fourth is slow. In
      // any interleaving, neither rate reaches its threshold once there are 4 calls.
      const Outcome outcome = thread == 0 || i % 2 == 0 ? Outcome::kSuccess : Outcome::kFailure;
      const Duration latency = thread == 1 && i % 4 == 0 ? 2s : 1ms;
      ASSERT_TRUE(breaker->allow(now).allowed);
      breaker->record(outcome, latency, now);
    }
  });

  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->snapshot(t0 + 10s).window, (WindowCounts{20'000, 5'000, 2'500}));
}

// Two threads racing for half-open probe slots get exactly half_open.probes of them in all.
TEST(BreakerConcurrencyTest, HalfOpenAdmitsExactlyProbesAcrossThreads) {
  Config config = consecutiveConfig(1);
  config.halfOpen.probes = 7;
  auto breaker = makeOrDie(config);
  ASSERT_TRUE(breaker->allow(t0).allowed);
  breaker->record(Outcome::kFailure, t0);
  std::atomic<int> admitted{0};

  onTwoThreads([&](int) {
    for (int i = 0; i < kPerThread; ++i) {
      if (breaker->allow(t0 + 1s).allowed) {
        admitted.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });

  EXPECT_EQ(admitted.load(), 7);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->snapshot(t0 + 1s).probesAdmitted, 7);
}

// Two threads drive the breaker through many trips, probes and closes with random outcomes; the
// transitions observers receive form one unbroken chain (each starts where the previous ended),
// so none is lost, duplicated or reordered, and the chain ends in the breaker's final state.
TEST(BreakerConcurrencyTest, TransitionsFormAnUnbrokenChain) {
  auto observer = std::make_shared<RecordingObserver>();
  Config config = consecutiveConfig(3);
  config.failureRate = FailureRateConfig{.threshold = 50};
  config.window = {.kind = WindowConfig::Kind::kCount, .size = 20, .minimumCalls = 10};
  config.backoff = {
      .base = 10ms, .multiplier = 2.0, .max = 80ms, .jitter = Jitter::kFull, .resetAfter = 1s};
  config.halfOpen = {.probes = 2, .successesToClose = 2};
  auto breaker = makeOrDie(config, {observer});

  onTwoThreads([&](int thread) {
    core::Random random(1000 + static_cast<std::uint64_t>(thread));
    for (int i = 0; i < 5 * kPerThread; ++i) {
      const TimePoint now = t0 + std::chrono::microseconds(100 * i);
      if (breaker->allow(now)) {
        const std::uint64_t roll = random.below(100);
        const Outcome outcome = roll < 35   ? Outcome::kFailure
                                : roll < 40 ? Outcome::kIgnored
                                            : Outcome::kSuccess;
        breaker->record(outcome, std::chrono::milliseconds(roll), now);
      }
    }
  });

  const std::vector<Transition> t = observer->transitions();
  ASSERT_GT(t.size(), 10U) << "the scenario should trip and recover many times";
  State last = State::kClosed;
  for (std::size_t i = 0; i < t.size(); ++i) {
    ASSERT_EQ(t[i].from, last) << "transition " << i;
    const bool valid = (t[i].from == State::kClosed && t[i].to == State::kOpen) ||
                       (t[i].from == State::kOpen && t[i].to == State::kHalfOpen) ||
                       (t[i].from == State::kHalfOpen && t[i].to != State::kHalfOpen);
    ASSERT_TRUE(valid) << "transition " << i;
    if (t[i].to == State::kOpen) {
      ASSERT_LE(t[i].openFor, 80ms);
      ASSERT_GE(t[i].trip, 1);
    }
    last = t[i].to;
  }
  EXPECT_EQ(breaker->state(), last);
}

}  // namespace
}  // namespace fairway::breaker
