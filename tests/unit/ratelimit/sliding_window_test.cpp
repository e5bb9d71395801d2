#include <chrono>

#include <gtest/gtest.h>

#include <fairway/ratelimit/sliding_window.hpp>

#include "test_util.hpp"

namespace fairway::ratelimit {
namespace {

using namespace std::chrono_literals;
using test::countAllowed;
using test::t0;

// 10 per second; t0 is a whole number of seconds, so a window starts at t0.

// A fresh window lets the whole limit through at once, then denies until the next window.
TEST(SlidingWindowTest, LimitPassesAtOnceThenDenies) {
  SlidingWindow window(10, 1s);

  EXPECT_EQ(countAllowed(window, 10, t0), 10);
  Decision denied = window.tryAcquire(1, t0 + 1ms);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.limit, 10);
  EXPECT_EQ(denied.remaining, 0);
  // Next window at t0 + 1 s, where the 10 weigh 1 − e/1 s: 9 + 1 fits at e = 100 ms.
  EXPECT_EQ(denied.retryAfter, 1100ms - 1ms);
  EXPECT_EQ(denied.reset, 2s - 1ms);  // the end of the next window
}

// At the boundary the previous window's count weighs fully, then fades linearly: at 100 ms into
// the new window 10 × 0.9 + 1 fits, one nanosecond earlier it does not.
TEST(SlidingWindowTest, PreviousWindowFadesAcrossTheBoundary) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 10, t0 + 500ms), 10);

  Decision atBoundary = window.tryAcquire(1, t0 + 1s);
  EXPECT_FALSE(atBoundary.allowed);
  EXPECT_EQ(atBoundary.retryAfter, 100ms);
  EXPECT_EQ(atBoundary.reset, 1s);  // the previous count is gone at the end of this window

  EXPECT_FALSE(window.tryAcquire(1, t0 + 1100ms - 1ns).allowed);
  Decision faded = window.tryAcquire(1, t0 + 1100ms);  // 9 + 1
  EXPECT_TRUE(faded.allowed);
  EXPECT_EQ(faded.remaining, 0);
  EXPECT_EQ(faded.reset, 900ms + 1s);
  EXPECT_FALSE(window.tryAcquire(1, t0 + 1100ms).allowed);

  // Half way: 10 × 0.5 + 1 = 6, so four more.
  EXPECT_EQ(countAllowed(window, 10, t0 + 1500ms), 4);
}

// remaining rounds the estimate's room down; retryAfter is exact for a cost above one.
TEST(SlidingWindowTest, DecisionFieldsAreExact) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 10, t0), 10);

  Decision two = window.tryAcquire(2, t0 + 1250ms);  // 10 × 0.75 + 2 = 9.5
  EXPECT_TRUE(two.allowed);
  EXPECT_EQ(two.remaining, 0);
  EXPECT_EQ(two.retryAfter, 0ns);
  EXPECT_EQ(two.reset, 750ms + 1s);

  Decision one = window.tryAcquire(1, t0 + 1250ms);  // 9.5 + 1 > 10
  EXPECT_FALSE(one.allowed);
  EXPECT_EQ(one.retryAfter, 50ms);  // 10 × 0.7 + 2 + 1 = 10 at 300 ms
  EXPECT_FALSE(window.tryAcquire(1, t0 + 1300ms - 1ns).allowed);
  EXPECT_TRUE(window.tryAcquire(1, t0 + 1300ms).allowed);
}

// A window further back than the previous one no longer counts.
TEST(SlidingWindowTest, OlderWindowsAreForgotten) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 10, t0 + 999ms), 10);

  Decision later = window.tryAcquire(1, t0 + 2s);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 9);
  EXPECT_EQ(countAllowed(window, 20, t0 + 2s), 9);
}

// Windows start at multiples of the window since the clock's epoch, not at the first request.
TEST(SlidingWindowTest, WindowsAreAlignedToTheEpoch) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 10, t0 + 999ms), 10);

  // One millisecond later is a new window, in which the previous ten still weigh 1 − 0.001.
  Decision next = window.tryAcquire(1, t0 + 1s);
  EXPECT_FALSE(next.allowed);
  EXPECT_EQ(next.retryAfter, 100ms);
}

// When only the previous window holds requests, the quota is whole at the end of this one.
TEST(SlidingWindowTest, ResetCountsOnlyWhatIsLeft) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 4, t0 + 200ms), 4);

  EXPECT_EQ(window.tryAcquire(0, t0 + 300ms).reset, 1700ms);  // current 4: end of the next window
  Decision peek = window.tryAcquire(0, t0 + 1400ms);          // previous 4 at weight 0.6
  EXPECT_EQ(peek.reset, 600ms);
  EXPECT_EQ(peek.remaining, 7);  // floor(10 − 2.4)
  EXPECT_EQ(window.tryAcquire(0, t0 + 2s).reset, 0ns);
}

// A cost above the limit never passes and takes nothing; retryAfter is the reset.
TEST(SlidingWindowTest, CostAboveLimitIsDeniedAndTakesNothing) {
  SlidingWindow window(10, 1s);

  Decision empty = window.tryAcquire(11, t0);
  EXPECT_FALSE(empty.allowed);
  EXPECT_EQ(empty.remaining, 10);
  EXPECT_EQ(empty.retryAfter, 0ns);
  EXPECT_EQ(empty.reset, 0ns);

  ASSERT_TRUE(window.tryAcquire(1, t0).allowed);
  Decision used = window.tryAcquire(11, t0 + 100ms);
  EXPECT_FALSE(used.allowed);
  EXPECT_EQ(used.retryAfter, used.reset);
  EXPECT_EQ(used.reset, 1900ms);
  EXPECT_EQ(countAllowed(window, 20, t0 + 100ms), 9);
}

// An instant earlier than the window the state has moved to counts as that window's start.
TEST(SlidingWindowTest, EarlierInstantCountsAsWindowStart) {
  SlidingWindow window(10, 1s);
  ASSERT_EQ(countAllowed(window, 10, t0 + 900ms), 10);
  ASSERT_TRUE(window.tryAcquire(1, t0 + 1200ms).allowed);  // 8 + 1

  Decision earlier = window.tryAcquire(1, t0 + 950ms);  // seen at t0 + 1 s: 10 + 1
  EXPECT_FALSE(earlier.allowed);
  EXPECT_EQ(earlier.retryAfter, 50ms + 200ms);  // to t0 + 1 s, then to 10 × 0.8 + 1 + 1
}

}  // namespace
}  // namespace fairway::ratelimit
