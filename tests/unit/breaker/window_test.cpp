#include <gtest/gtest.h>

#include <fairway/breaker/window.hpp>

#include "test_util.hpp"

namespace fairway::breaker {
namespace {

using namespace std::chrono_literals;
using test::t0;

SlidingWindow countWindow(std::int64_t size) {
  return SlidingWindow(WindowConfig{.kind = WindowConfig::Kind::kCount, .size = size});
}

SlidingWindow timeWindow(Duration duration, std::int64_t buckets) {
  return SlidingWindow(
      WindowConfig{.kind = WindowConfig::Kind::kTime, .duration = duration, .buckets = buckets});
}

// A fresh window counts nothing and reports 0% rates.
TEST(BreakerWindowTest, StartsEmpty) {
  const SlidingWindow window = countWindow(10);
  EXPECT_EQ(window.counts(t0), WindowCounts{});
  EXPECT_EQ(window.counts(t0).failureRate(), 0.0);
  EXPECT_EQ(window.counts(t0).slowCallRate(), 0.0);
}

// add() returns the counts including the call; rates are percentages of calls.
TEST(BreakerWindowTest, CountsCallsFailuresAndSlowCalls) {
  SlidingWindow window = countWindow(10);
  window.add(false, false, t0);
  window.add(true, false, t0);
  window.add(true, true, t0);
  const WindowCounts counts = window.add(false, true, t0);

  EXPECT_EQ(counts, (WindowCounts{.calls = 4, .failures = 2, .slowCalls = 2}));
  EXPECT_EQ(counts.failureRate(), 50.0);
  EXPECT_EQ(counts.slowCallRate(), 50.0);
}

// A count window keeps the last N calls: the oldest call leaves as each new one arrives.
TEST(BreakerWindowTest, CountWindowEvictsOldestCall) {
  SlidingWindow window = countWindow(3);
  window.add(true, true, t0);   // leaves at the 4th call
  window.add(true, false, t0);  // leaves at the 5th call
  window.add(false, false, t0);

  EXPECT_EQ(window.add(false, false, t0), (WindowCounts{3, 1, 0}));
  EXPECT_EQ(window.add(false, false, t0), (WindowCounts{3, 0, 0}));
  EXPECT_EQ(window.add(true, false, t0), (WindowCounts{3, 1, 0}));
}

// A count window ignores time entirely: calls hours apart all count.
TEST(BreakerWindowTest, CountWindowIgnoresTime) {
  SlidingWindow window = countWindow(100);
  window.add(true, false, t0);
  window.add(true, false, t0 + 24h);
  EXPECT_EQ(window.counts(t0 + 48h), (WindowCounts{2, 2, 0}));
}

// Rings longer than one 64-bit word wrap correctly: after 1000 calls into a 130-call window,
// exactly the failures among the last 130 count.
TEST(BreakerWindowTest, CountWindowWrapsAcrossWords) {
  SlidingWindow window = countWindow(130);
  WindowCounts counts;
  for (int i = 0; i < 1000; ++i) {
    counts = window.add(i % 3 == 0, i % 5 == 0, t0);
  }
  std::int64_t failures = 0;
  std::int64_t slow = 0;
  for (int i = 1000 - 130; i < 1000; ++i) {
    failures += i % 3 == 0 ? 1 : 0;
    slow += i % 5 == 0 ? 1 : 0;
  }
  EXPECT_EQ(counts, (WindowCounts{130, failures, slow}));
}

// Timeline: a 10s window in ten 1s buckets drops each second's calls once that second is more
// than ten buckets old.
TEST(BreakerWindowTest, TimeWindowExpiresBucketsAsTimeAdvances) {
  SlidingWindow window = timeWindow(10s, 10);
  window.add(true, false, t0);           // bucket [0s, 1s)
  window.add(false, false, t0 + 500ms);  // same bucket
  window.add(true, true, t0 + 3s);       // bucket [3s, 4s)

  EXPECT_EQ(window.counts(t0 + 3s), (WindowCounts{3, 2, 1}));
  EXPECT_EQ(window.counts(t0 + 9999ms), (WindowCounts{3, 2, 1}));
  // At 10s the bucket [0s, 1s) leaves: the window is (0s, 10s] in whole buckets.
  EXPECT_EQ(window.counts(t0 + 10s), (WindowCounts{1, 1, 1}));
  EXPECT_EQ(window.counts(t0 + 13s), WindowCounts{});
  // Adding moves the window too: the calls of [0s, 1s) are gone from the running totals.
  EXPECT_EQ(window.add(false, false, t0 + 10s), (WindowCounts{2, 1, 1}));
  // At 14s the window is [5s, 15s): the 3s bucket is gone, the 10s calls remain.
  EXPECT_EQ(window.add(false, false, t0 + 14s), (WindowCounts{2, 0, 0}));
}

// After a quiet period longer than the window, every bucket is empty again.
TEST(BreakerWindowTest, TimeWindowForgetsEverythingAfterLongQuiet) {
  SlidingWindow window = timeWindow(10s, 10);
  for (int i = 0; i < 10; ++i) {
    window.add(true, false, t0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(window.counts(t0 + 9s).calls, 10);
  EXPECT_EQ(window.add(false, false, t0 + 1h), (WindowCounts{1, 0, 0}));
}

// An instant older than the newest one (another thread's `now`, slightly behind) counts in the
// newest bucket rather than being lost or corrupting an expired one.
TEST(BreakerWindowTest, TimeWindowCountsLateInstantInNewestBucket) {
  SlidingWindow window = timeWindow(10s, 10);
  window.add(false, false, t0 + 5s);
  window.add(true, false, t0 + 4s);   // late, within the window
  window.add(true, false, t0 - 20s);  // late, long before the window
  EXPECT_EQ(window.counts(t0 + 5s), (WindowCounts{3, 2, 0}));
  // All three sit in bucket [5s, 6s) and leave together.
  EXPECT_EQ(window.counts(t0 + 15s), WindowCounts{});
}

// Buckets align on the clock's epoch, also before it (a simulator may start at negative time).
TEST(BreakerWindowTest, TimeWindowHandlesInstantsBeforeEpoch) {
  SlidingWindow window = timeWindow(2s, 2);
  const TimePoint early = TimePoint(-3500ms);  // bucket [-4s, -3s)
  window.add(true, false, early);
  EXPECT_EQ(window.counts(TimePoint(-2500ms)), (WindowCounts{1, 1, 0}));
  EXPECT_EQ(window.counts(TimePoint(-2000ms)), WindowCounts{});
}

// clear() forgets every call, in both kinds.
TEST(BreakerWindowTest, ClearForgetsEverything) {
  SlidingWindow count = countWindow(4);
  SlidingWindow time = timeWindow(10s, 5);
  for (int i = 0; i < 6; ++i) {
    count.add(true, true, t0);
    time.add(true, true, t0);
  }
  count.clear();
  time.clear();
  EXPECT_EQ(count.counts(t0), WindowCounts{});
  EXPECT_EQ(time.counts(t0), WindowCounts{});
  EXPECT_EQ(count.add(false, false, t0), (WindowCounts{1, 0, 0}));
  EXPECT_EQ(time.add(false, false, t0), (WindowCounts{1, 0, 0}));
}

// One bucket: the window is just the current slice of `duration`.
TEST(BreakerWindowTest, SingleBucketTimeWindow) {
  SlidingWindow window = timeWindow(1s, 1);
  window.add(true, false, t0 + 100ms);
  EXPECT_EQ(window.counts(t0 + 999ms).calls, 1);
  EXPECT_EQ(window.add(false, false, t0 + 1s), (WindowCounts{1, 0, 0}));
}

}  // namespace
}  // namespace fairway::breaker
