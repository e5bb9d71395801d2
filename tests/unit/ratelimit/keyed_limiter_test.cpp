#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/core/random.hpp>
#include <fairway/ratelimit/gcra.hpp>
#include <fairway/ratelimit/keyed_limiter.hpp>
#include <fairway/ratelimit/sliding_window.hpp>
#include <fairway/ratelimit/token_bucket.hpp>

#include "test_util.hpp"

namespace fairway::ratelimit {
namespace {

using namespace std::chrono_literals;
using test::configFor;
using test::makeOrDie;
using test::t0;

class KeyedLimiterTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Algorithms, KeyedLimiterTest,
                         ::testing::Values("token_bucket", "gcra", "sliding_window"));

// Each key has its own quota: draining one leaves the others whole.
TEST_P(KeyedLimiterTest, KeysAreIndependent) {
  auto limiter = makeOrDie(configFor(GetParam(), 10, 3));

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter->tryAcquire("10.0.0.1", 1, t0).allowed);
  }
  EXPECT_FALSE(limiter->tryAcquire("10.0.0.1", 1, t0).allowed);

  Decision other = limiter->tryAcquire("10.0.0.2", 1, t0);
  EXPECT_TRUE(other.allowed);
  EXPECT_EQ(other.remaining, 2);
  EXPECT_EQ(limiter->size(), 2u);
  EXPECT_TRUE(limiter->contains("10.0.0.1"));
  EXPECT_FALSE(limiter->contains("10.0.0.3"));
}

// One key in the keyed limiter decides exactly as the algorithm's value type does.
TEST_P(KeyedLimiterTest, DecidesAsTheValueType) {
  const Config config = configFor(GetParam(), 10, 4);
  auto limiter = makeOrDie(config);
  TokenBucket bucket(config.rate);
  Gcra gcra(config.rate);
  SlidingWindow window(config.rate.burst, config.window);
  core::Random random(7);
  TimePoint now = t0;
  for (int i = 0; i < 20'000; ++i) {
    now += std::chrono::microseconds(random.below(200'000));
    const auto cost = static_cast<std::int64_t>(random.below(6));
    const Decision keyed = limiter->tryAcquire("client", cost, now);
    const Decision alone = GetParam() == "token_bucket" ? bucket.tryAcquire(cost, now)
                           : GetParam() == "gcra"       ? gcra.tryAcquire(cost, now)
                                                        : window.tryAcquire(cost, now);
    ASSERT_EQ(keyed.allowed, alone.allowed) << i;
    ASSERT_EQ(keyed.remaining, alone.remaining) << i;
    ASSERT_EQ(keyed.retryAfter, alone.retryAfter) << i;
    ASSERT_EQ(keyed.reset, alone.reset) << i;
  }
}

// Ten times maxKeys distinct keys leave at most maxKeys held; every one beyond evicted another.
TEST_P(KeyedLimiterTest, MemoryStaysBounded) {
  Config config = configFor(GetParam(), 10, 5);
  config.maxKeys = 4096;
  config.shards = 4;
  auto limiter = makeOrDie(config);
  ASSERT_EQ(limiter->capacity(), 4096u);

  for (int i = 0; i < 40'960; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("client-" + std::to_string(i), 1, t0).allowed);
    ASSERT_LE(limiter->size(), config.maxKeys);
  }
  const KeyedLimiterStats stats = limiter->stats();
  EXPECT_EQ(stats.keys, limiter->size());
  EXPECT_EQ(stats.capacity, 4096u);
  EXPECT_GT(stats.keys, 4096u * 3 / 4);  // buckets fill up, give or take the hash's spread
  EXPECT_EQ(stats.keys + stats.evictedIdle + stats.evictedActive, 40'960u);
  EXPECT_EQ(stats.evictedIdle, 0u);  // all still in debt at t0
}

// A denied request, or one that takes nothing, stores no key.
TEST_P(KeyedLimiterTest, RequestsThatTakeNothingStoreNoKey) {
  auto limiter = makeOrDie(configFor(GetParam(), 10, 3));

  EXPECT_FALSE(limiter->tryAcquire("big", 4, t0).allowed);
  EXPECT_TRUE(limiter->tryAcquire("peek", 0, t0).allowed);
  EXPECT_EQ(limiter->size(), 0u);
  EXPECT_FALSE(limiter->contains("big"));
}

// A sliding window whose limit does not fit 32-bit counts keeps 64-bit ones.
TEST(KeyedLimiterSlidingWindowTest, LimitsBeyond32BitsCountExactly) {
  auto limiter = makeOrDie(configFor("sliding_window", 1, 5'000'000'000));

  Decision first = limiter->tryAcquire("bulk", 4'000'000'000, t0);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.remaining, 1'000'000'000);
  EXPECT_FALSE(limiter->tryAcquire("bulk", 2'000'000'000, t0).allowed);
  EXPECT_TRUE(limiter->tryAcquire("bulk", 1'000'000'000, t0).allowed);
  EXPECT_EQ(limiter->tryAcquire("bulk", 0, t0).remaining, 0);
}

// capacity() is maxKeys rounded up to whole buckets per shard, with fewer shards when maxKeys is
// small.
TEST(KeyedLimiterCapacityTest, RoundsUpToWholeBuckets) {
  Config config = configFor("gcra", 10, 1);
  config.maxKeys = 1 << 20;
  config.shards = 64;
  EXPECT_EQ(makeOrDie(config)->capacity(), std::size_t{1} << 20);
  config.maxKeys = 1000;
  EXPECT_EQ(makeOrDie(config)->capacity(), 1024u);  // 64 shards × 2 buckets × 8
  config.maxKeys = 1;
  EXPECT_EQ(makeOrDie(config)->capacity(), KeyedLimiter::kWays);  // 1 shard, 1 bucket
}

// In a full table (one bucket: maxKeys = 8, one shard) an idle key — its quota whole again, so
// forgetting it changes nothing — goes before any key in debt.
TEST(KeyedLimiterEvictionTest, IdleKeyGoesBeforeActiveOnes) {
  Config config = configFor("gcra", 1, 1);  // each take owes 1 s
  config.maxKeys = KeyedLimiter::kWays;
  config.shards = 1;
  auto limiter = makeOrDie(config);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("early-" + std::to_string(i), 1, t0).allowed);
    ASSERT_TRUE(limiter->tryAcquire("late-" + std::to_string(i), 1, t0 + 1500ms).allowed);
  }
  ASSERT_EQ(limiter->size(), 8u);

  // At t0 + 2 s the early keys are idle, the late ones owe 0.5 s each.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("new-" + std::to_string(i), 1, t0 + 2s).allowed);
  }

  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(limiter->contains("early-" + std::to_string(i))) << i;
    EXPECT_TRUE(limiter->contains("late-" + std::to_string(i))) << i;
    EXPECT_TRUE(limiter->contains("new-" + std::to_string(i))) << i;
  }
  EXPECT_EQ(limiter->stats().evictedIdle, 4u);
  EXPECT_EQ(limiter->stats().evictedActive, 0u);
  EXPECT_EQ(limiter->size(), 8u);
}

// An active key is evicted only when its bucket is full of active keys, and then the one owing
// least; its debt is forgiven (fail-open): it comes back with a whole quota.
TEST(KeyedLimiterEvictionTest, ActiveKeyGoesOnlyFromAFullBucket) {
  Config config = configFor("gcra", 1, 1);
  config.maxKeys = KeyedLimiter::kWays;
  config.shards = 1;
  auto limiter = makeOrDie(config);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("key-" + std::to_string(i), 1, t0 + 10ms * i).allowed);
  }
  ASSERT_TRUE(limiter->tryAcquire("key-7", 1, t0 + 100ms).allowed);  // the last free slot
  EXPECT_EQ(limiter->stats().evictedActive, 0u);
  ASSERT_FALSE(limiter->tryAcquire("key-0", 1, t0 + 100ms).allowed);  // owes 0.9 s

  // Full of active keys: the newcomer replaces key-0, which owes least (it took first).
  ASSERT_TRUE(limiter->tryAcquire("newcomer", 1, t0 + 100ms).allowed);
  EXPECT_EQ(limiter->stats().evictedActive, 1u);
  EXPECT_FALSE(limiter->contains("key-0"));
  for (int i = 1; i < 8; ++i) {
    EXPECT_TRUE(limiter->contains("key-" + std::to_string(i))) << i;
  }
  EXPECT_TRUE(limiter->tryAcquire("key-0", 1, t0 + 100ms).allowed);  // forgiven
}

// A client cannot shed its own debt by sending fresh keys: they owe less than it, so they
// replace one another.
TEST(KeyedLimiterEvictionTest, FreshKeysDoNotEvictAHeavyKey) {
  Config config = configFor("token_bucket", 1, 10);
  config.maxKeys = KeyedLimiter::kWays;
  config.shards = 1;
  auto limiter = makeOrDie(config);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("heavy", 1, t0).allowed);
  }

  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter->tryAcquire("fresh-" + std::to_string(i), 1, t0).allowed);
  }

  EXPECT_TRUE(limiter->contains("heavy"));
  EXPECT_FALSE(limiter->tryAcquire("heavy", 1, t0).allowed);
}

// Two threads hammering one key along the same fixed timeline never over-admit: together they get
// exactly burst + rate × elapsed, however their calls interleave (each thread's instants rise, but
// the threads' do not: one may run ahead of the other).
TEST(KeyedLimiterConcurrencyTest, TwoThreadsOnOneKeyGetExactlyTheLimit) {
  for (const char* algorithm : {"token_bucket", "gcra"}) {
    auto limiter = makeOrDie(configFor(algorithm, 10, 10));  // T = 100 ms
    std::atomic<int> allowed{0};
    auto run = [&] {
      int mine = 0;
      for (auto t = 0ms; t <= 10s; t += 1ms) {
        // Enough requests at the last instant that the last one of all is denied.
        const int requests = t == 10s ? 12 : 2;
        for (int i = 0; i < requests; ++i) {
          mine += limiter->tryAcquire("shared", 1, t0 + t).allowed ? 1 : 0;
        }
      }
      allowed += mine;
    };
    std::thread a(run);
    std::thread b(run);
    a.join();
    b.join();

    EXPECT_EQ(allowed.load(), 10 + 100) << algorithm;
  }
}

// Threads inserting distinct keys concurrently keep the table within capacity and the counters
// consistent.
TEST(KeyedLimiterConcurrencyTest, ConcurrentInsertsStayBounded) {
  Config config = configFor("gcra", 10, 2);
  config.maxKeys = 1024;
  config.shards = 8;
  auto limiter = makeOrDie(config);
  auto run = [&](int thread) {
    for (int i = 0; i < 20'000; ++i) {
      limiter->tryAcquire(std::to_string(thread) + ":" + std::to_string(i), 1, t0 + 1ms * i);
    }
  };
  std::thread a(run, 0);
  std::thread b(run, 1);
  a.join();
  b.join();

  const KeyedLimiterStats stats = limiter->stats();
  EXPECT_LE(stats.keys, 1024u);
  EXPECT_EQ(stats.keys + stats.evictedIdle + stats.evictedActive, 40'000u);
}

// make() returns the same limiter behind the Limiter seam.
TEST(KeyedLimiterMakeTest, MakeReturnsAKeyedLimiter) {
  auto made = make(configFor("gcra", 10, 2));
  ASSERT_TRUE(made.ok());
  Limiter& limiter = *made.value();

  EXPECT_TRUE(limiter.tryAcquire("a", 2, t0).allowed);
  EXPECT_FALSE(limiter.tryAcquire("a", 1, t0).allowed);
  EXPECT_EQ(limiter.size(), 1u);
  EXPECT_NE(dynamic_cast<KeyedLimiter*>(&limiter), nullptr);
}

}  // namespace
}  // namespace fairway::ratelimit
