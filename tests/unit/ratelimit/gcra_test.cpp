#include <chrono>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include <fairway/core/random.hpp>
#include <fairway/ratelimit/gcra.hpp>
#include <fairway/ratelimit/token_bucket.hpp>

#include "test_util.hpp"

namespace fairway::ratelimit {
namespace {

using namespace std::chrono_literals;
using test::countAllowed;
using test::t0;

const Rate kTenPerSecond{10, 5};  // T = 100 ms, τ = 500 ms

// A fresh GCRA lets the whole burst through at once, then denies.
TEST(GcraTest, BurstPassesAtOnceThenDenies) {
  Gcra gcra(kTenPerSecond);

  EXPECT_EQ(countAllowed(gcra, 5, t0), 5);
  EXPECT_FALSE(gcra.tryAcquire(1, t0).allowed);
  EXPECT_FALSE(gcra.tryAcquire(1, t0 + 1ms).allowed);
}

// The theoretical arrival time moves by T per request taken, from max(TAT, now).
TEST(GcraTest, TheoreticalArrivalAdvancesByInterval) {
  Gcra gcra(kTenPerSecond);
  EXPECT_EQ(gcra.theoreticalArrival(), TimePoint::min());

  ASSERT_TRUE(gcra.tryAcquire(1, t0).allowed);
  EXPECT_EQ(gcra.theoreticalArrival(), t0 + 100ms);
  ASSERT_TRUE(gcra.tryAcquire(2, t0).allowed);
  EXPECT_EQ(gcra.theoreticalArrival(), t0 + 300ms);
  ASSERT_TRUE(gcra.tryAcquire(1, t0 + 1s).allowed);  // idle since t0 + 300 ms
  EXPECT_EQ(gcra.theoreticalArrival(), t0 + 1100ms);
  ASSERT_FALSE(gcra.tryAcquire(5, t0 + 1s).allowed);  // a denial changes nothing
  EXPECT_EQ(gcra.theoreticalArrival(), t0 + 1100ms);
}

// At 10/s one more passes after exactly 100 ms, not at 99.999999 ms.
TEST(GcraTest, RefillsOneRequestPerInterval) {
  Gcra gcra(kTenPerSecond);
  ASSERT_EQ(countAllowed(gcra, 5, t0), 5);

  EXPECT_FALSE(gcra.tryAcquire(1, t0 + 99ms).allowed);
  EXPECT_FALSE(gcra.tryAcquire(1, t0 + 100ms - 1ns).allowed);
  EXPECT_TRUE(gcra.tryAcquire(1, t0 + 100ms).allowed);
  EXPECT_FALSE(gcra.tryAcquire(1, t0 + 100ms).allowed);
}

// remaining, retryAfter and reset follow the documented formulas at chosen instants.
TEST(GcraTest, DecisionFieldsAreExact) {
  Gcra gcra(kTenPerSecond);

  Decision first = gcra.tryAcquire(2, t0);  // TAT = t0 + 200 ms
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 5);
  EXPECT_EQ(first.remaining, 3);
  EXPECT_EQ(first.retryAfter, 0ns);
  EXPECT_EQ(first.reset, 200ms);

  ASSERT_TRUE(gcra.tryAcquire(3, t0).allowed);  // TAT = t0 + 500 ms
  Decision denied = gcra.tryAcquire(2, t0 + 120ms);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 1);      // 1.2 requests' worth
  EXPECT_EQ(denied.retryAfter, 80ms);  // TAT + 2T − τ − now
  EXPECT_EQ(denied.reset, 380ms);      // TAT − now

  Decision allowed = gcra.tryAcquire(1, t0 + 120ms);  // TAT = t0 + 600 ms
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.remaining, 0);
  EXPECT_EQ(allowed.reset, 480ms);
}

// A cost above the burst never passes and takes nothing; retryAfter is the reset.
TEST(GcraTest, CostAboveBurstIsDeniedAndTakesNothing) {
  Gcra gcra(kTenPerSecond);
  ASSERT_TRUE(gcra.tryAcquire(1, t0).allowed);

  Decision d = gcra.tryAcquire(std::numeric_limits<std::int64_t>::max(), t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 4);
  EXPECT_EQ(d.reset, 100ms);
  EXPECT_EQ(d.retryAfter, 100ms);
  EXPECT_EQ(gcra.theoreticalArrival(), t0 + 100ms);
}

// Sustained demand gets exactly the burst plus the rate: 5 + 10/s × 60 s.
TEST(GcraTest, SustainedDemandGetsBurstPlusRate) {
  Gcra gcra(kTenPerSecond);
  int allowed = 0;
  for (auto t = 0ms; t <= 60s; t += 1ms) {
    allowed += countAllowed(gcra, 2, t0 + t);
  }

  EXPECT_EQ(allowed, 5 + 600);
}

// GCRA and the token bucket are the same limit: over long random sequences of (cost, instant) —
// instants mostly rising, sometimes stepping back as interleaved callers' do — they give equal
// decisions, field by field, for several rates and bursts.
TEST(GcraTest, AgreesWithTokenBucketOnRandomSequences) {
  const Rate rates[] = {{10, 5}, {3, 1}, {1000, 100}, {0.7, 3}, {12345.678, 17}, {1e9, 1}};
  core::Random random(20261122);
  for (const Rate& rate : rates) {
    Gcra gcra(rate);
    TokenBucket bucket(rate);
    const auto interval = gcra.interval().count();
    TimePoint now = t0;
    for (int i = 0; i < 50'000; ++i) {
      // Steps up to 3 T forward; one in ten goes back up to T.
      const auto step = random.below(10) == 0
                            ? -static_cast<std::int64_t>(random.below(interval + 1))
                            : static_cast<std::int64_t>(random.below(3 * interval + 1));
      now += std::chrono::nanoseconds(step);
      const auto cost = static_cast<std::int64_t>(random.below(rate.burst + 2));  // 0..burst+1

      const Decision g = gcra.tryAcquire(cost, now);
      const Decision b = bucket.tryAcquire(cost, now);
      ASSERT_EQ(g.allowed, b.allowed) << "rate " << rate.requestsPerSecond << " step " << i;
      ASSERT_EQ(g.remaining, b.remaining) << "step " << i;
      ASSERT_EQ(g.retryAfter, b.retryAfter) << "step " << i;
      ASSERT_EQ(g.reset, b.reset) << "step " << i;
    }
  }
}

}  // namespace
}  // namespace fairway::ratelimit
