#include <chrono>

#include <gtest/gtest.h>

#include <fairway/ratelimit/token_bucket.hpp>

#include "test_util.hpp"

namespace fairway::ratelimit {
namespace {

using namespace std::chrono_literals;
using test::countAllowed;
using test::t0;

// 10/s with a burst of 5: a token every 100 ms, a full bucket after 500 ms.
const Rate kTenPerSecond{10, 5};

// A full bucket lets the whole burst through at once, then denies.
TEST(TokenBucketTest, BurstPassesAtOnceThenDenies) {
  TokenBucket bucket(kTenPerSecond);

  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bucket.tryAcquire(1, t0).allowed) << i;
  }
  EXPECT_FALSE(bucket.tryAcquire(1, t0).allowed);
  EXPECT_FALSE(bucket.tryAcquire(1, t0 + 1ms).allowed);
}

// At 10/s a token comes back after exactly 100 ms: not one nanosecond earlier.
TEST(TokenBucketTest, RefillsOneTokenPerInterval) {
  TokenBucket bucket(kTenPerSecond);
  ASSERT_EQ(countAllowed(bucket, 5, t0), 5);

  EXPECT_FALSE(bucket.tryAcquire(1, t0 + 99ms).allowed);
  EXPECT_FALSE(bucket.tryAcquire(1, t0 + 100ms - 1ns).allowed);
  EXPECT_TRUE(bucket.tryAcquire(1, t0 + 100ms).allowed);
  EXPECT_FALSE(bucket.tryAcquire(1, t0 + 100ms).allowed);
  EXPECT_TRUE(bucket.tryAcquire(1, t0 + 200ms).allowed);
  EXPECT_EQ(bucket.interval(), 100ms);
  EXPECT_EQ(bucket.limit(), 5);
}

// Every field of the decision, at chosen instants.
TEST(TokenBucketTest, DecisionFieldsAreExact) {
  TokenBucket bucket(kTenPerSecond);

  Decision first = bucket.tryAcquire(1, t0);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 5);
  EXPECT_EQ(first.remaining, 4);
  EXPECT_EQ(first.retryAfter, 0ns);
  EXPECT_EQ(first.reset, 100ms);

  ASSERT_EQ(countAllowed(bucket, 4, t0), 4);
  Decision denied = bucket.tryAcquire(1, t0 + 30ms);  // 0.3 tokens
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.limit, 5);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retryAfter, 70ms);
  EXPECT_EQ(denied.reset, 470ms);

  Decision later = bucket.tryAcquire(1, t0 + 250ms);  // 2.5 tokens, 1.5 left
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 1);
  EXPECT_EQ(later.retryAfter, 0ns);
  EXPECT_EQ(later.reset, 350ms);
}

// A request of cost 3 needs three tokens at once and takes all three.
TEST(TokenBucketTest, CostTakesThatManyTokens) {
  TokenBucket bucket(kTenPerSecond);

  Decision a = bucket.tryAcquire(3, t0);
  EXPECT_TRUE(a.allowed);
  EXPECT_EQ(a.remaining, 2);
  EXPECT_EQ(a.reset, 300ms);

  Decision b = bucket.tryAcquire(3, t0);  // two tokens: one short
  EXPECT_FALSE(b.allowed);
  EXPECT_EQ(b.remaining, 2);
  EXPECT_EQ(b.retryAfter, 100ms);

  EXPECT_TRUE(bucket.tryAcquire(2, t0).allowed);  // the denial took nothing
  EXPECT_FALSE(bucket.tryAcquire(3, t0 + 300ms - 1ns).allowed);
  EXPECT_TRUE(bucket.tryAcquire(3, t0 + 300ms).allowed);
}

// A cost above the burst can never pass; it takes nothing and points retryAfter at the reset.
TEST(TokenBucketTest, CostAboveBurstIsDeniedAndTakesNothing) {
  TokenBucket bucket(kTenPerSecond);

  Decision full = bucket.tryAcquire(6, t0);
  EXPECT_FALSE(full.allowed);
  EXPECT_EQ(full.remaining, 5);
  EXPECT_EQ(full.reset, 0ns);
  EXPECT_EQ(full.retryAfter, 0ns);

  ASSERT_TRUE(bucket.tryAcquire(2, t0).allowed);
  Decision partial = bucket.tryAcquire(1'000'000'000'000, t0 + 50ms);
  EXPECT_FALSE(partial.allowed);
  EXPECT_EQ(partial.remaining, 3);
  EXPECT_EQ(partial.reset, 150ms);
  EXPECT_EQ(partial.retryAfter, 150ms);
  EXPECT_EQ(countAllowed(bucket, 10, t0 + 50ms), 3);
}

// Cost 0 reports the bucket without taking anything; a negative cost counts as 0.
TEST(TokenBucketTest, ZeroCostPeeks) {
  TokenBucket bucket(kTenPerSecond);
  ASSERT_EQ(countAllowed(bucket, 2, t0), 2);

  Decision peek = bucket.tryAcquire(0, t0);
  EXPECT_TRUE(peek.allowed);
  EXPECT_EQ(peek.remaining, 3);
  EXPECT_EQ(peek.reset, 200ms);
  EXPECT_EQ(bucket.tryAcquire(-4, t0).remaining, 3);
  EXPECT_EQ(countAllowed(bucket, 10, t0), 3);
}

// Idle time refills up to the burst and no further.
TEST(TokenBucketTest, RefillStopsAtBurst) {
  TokenBucket bucket(kTenPerSecond);
  ASSERT_EQ(countAllowed(bucket, 5, t0), 5);

  EXPECT_EQ(countAllowed(bucket, 100, t0 + 1h), 5);
}

// Sustained demand gets exactly the burst plus the rate: 5 + 10/s × 60 s.
TEST(TokenBucketTest, SustainedDemandGetsBurstPlusRate) {
  TokenBucket bucket(kTenPerSecond);
  int allowed = 0;
  for (auto t = 0ms; t <= 60s; t += 1ms) {
    allowed += countAllowed(bucket, 2, t0 + t);
  }

  EXPECT_EQ(allowed, 5 + 600);
}

// 1 s / 3 is not a whole number of nanoseconds: T rounds up to 333,333,334 ns, so the rate is
// never exceeded.
TEST(TokenBucketTest, FractionalIntervalRoundsUp) {
  TokenBucket bucket(Rate{3, 1});
  ASSERT_TRUE(bucket.tryAcquire(1, t0).allowed);

  EXPECT_EQ(bucket.interval(), 333'333'334ns);
  EXPECT_FALSE(bucket.tryAcquire(1, t0 + 333'333'333ns).allowed);
  EXPECT_TRUE(bucket.tryAcquire(1, t0 + 333'333'334ns).allowed);
}

// Rates whose interval is a whole number of nanoseconds are exact despite floating point.
TEST(TokenBucketTest, WholeIntervalsAreExact) {
  EXPECT_EQ(TokenBucket(Rate{1, 1}).interval(), 1s);
  EXPECT_EQ(TokenBucket(Rate{0.5, 1}).interval(), 2s);
  EXPECT_EQ(TokenBucket(Rate{1000, 1}).interval(), 1ms);
  EXPECT_EQ(TokenBucket(Rate{1e9 / 7, 1}).interval(), 7ns);
  EXPECT_EQ(TokenBucket(Rate{1e9, 1}).interval(), 1ns);
}

// An instant earlier than the last take (callers on other threads read the clock a little
// earlier) sees the bucket as it was then: fewer tokens, never more.
TEST(TokenBucketTest, EarlierInstantSeesFewerTokens) {
  TokenBucket bucket(kTenPerSecond);
  ASSERT_EQ(countAllowed(bucket, 5, t0), 5);
  ASSERT_TRUE(bucket.tryAcquire(1, t0 + 200ms).allowed);  // one of two refilled tokens left

  Decision earlier = bucket.tryAcquire(1, t0 + 150ms);
  EXPECT_FALSE(earlier.allowed);
  EXPECT_EQ(earlier.retryAfter, 50ms);
  EXPECT_TRUE(bucket.tryAcquire(1, t0 + 200ms).allowed);
}

}  // namespace
}  // namespace fairway::ratelimit
