// Request coalescing: one upstream fetch for concurrent misses on a key, followers that wait
// with a deadline, and the same under real threads (no sleeps: latches and futures).

#include <atomic>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

FlightOutcome stored(const char* body = "shared") {
  return {FlightOutcome::Kind::kStored, entryFor(ok({{"Cache-Control", "max-age=60"}}, body))};
}

// The first caller leads; the next follows with a deadline of now + timeout.
TEST(Coalescer, FirstLeadsOthersFollowWithDeadline) {
  Coalescer coalescer(5s);
  auto leader = coalescer.join("k", t0);
  ASSERT_TRUE(leader.isLeader());
  auto follower = coalescer.join("k", t0 + 1s);
  ASSERT_FALSE(follower.isLeader());
  EXPECT_EQ(follower.follower->deadline(), t0 + 6s);
  auto other = coalescer.join("other", t0);
  EXPECT_TRUE(other.isLeader());
  EXPECT_EQ(coalescer.inFlight(), 2u);
}

// Publishing hands the outcome to every waiter and to poll(), and ends the flight.
TEST(Coalescer, PublishReachesWaitersAndPoll) {
  Coalescer coalescer(5s);
  auto leader = coalescer.join("k", t0);
  int called = 0;
  auto follower = coalescer.join("k", t0, [&](const FlightOutcome& o) {
    EXPECT_EQ(o.kind, FlightOutcome::Kind::kStored);
    ++called;
  });
  EXPECT_FALSE(follower.follower->poll());
  leader.leader->publish(stored());
  EXPECT_EQ(called, 1);
  ASSERT_TRUE(follower.follower->poll());
  EXPECT_EQ(bodyOf(follower.follower->poll()->entry->response()), "shared");
  EXPECT_EQ(coalescer.inFlight(), 0u);
  EXPECT_TRUE(coalescer.join("k", t0 + 1s).isLeader());
}

// A follower that leaves at its deadline is taken out: its waiter is not called. Leaving after
// publication reports false (the outcome is there to poll).
TEST(Coalescer, LeaveBeforeAndAfterPublish) {
  Coalescer coalescer(5s);
  auto leader = coalescer.join("k", t0);
  bool called = false;
  auto early = coalescer.join("k", t0, [&](const FlightOutcome&) { called = true; });
  auto late = coalescer.join("k", t0);
  EXPECT_TRUE(coalescer.leave(*early.follower));
  leader.leader->publish(stored());
  EXPECT_FALSE(called);
  EXPECT_FALSE(coalescer.leave(*late.follower));
  EXPECT_TRUE(late.follower->poll());
}

// A leadership dropped without publishing tells the followers the fetch was abandoned.
TEST(Coalescer, DroppedLeadershipPublishesAbandoned) {
  Coalescer coalescer(5s);
  auto follower = [&] {
    auto leader = coalescer.join("k", t0);
    return coalescer.join("k", t0);
  }();
  ASSERT_TRUE(follower.follower->poll());
  EXPECT_EQ(follower.follower->poll()->kind, FlightOutcome::Kind::kAbandoned);
}

// A leader silent for the whole timeout is presumed lost: the next caller leads a new flight.
TEST(Coalescer, SilentLeaderIsReplacedAfterTimeout) {
  Coalescer coalescer(5s);
  auto lost = coalescer.join("k", t0);
  EXPECT_FALSE(coalescer.join("k", t0 + 4s).isLeader());
  auto next = coalescer.join("k", t0 + 5s);
  ASSERT_TRUE(next.isLeader());
  // The lost leader publishing late reaches its own followers, not the new flight's.
  auto follower = coalescer.join("k", t0 + 6s);
  lost.leader->publish(stored("late"));
  EXPECT_FALSE(follower.follower->poll());
  next.leader->publish(stored("new"));
  EXPECT_EQ(bodyOf(follower.follower->poll()->entry->response()), "new");
}

// tryLead() never follows: one background job per key.
TEST(Coalescer, TryLeadNeverFollows) {
  Coalescer coalescer(5s);
  auto first = coalescer.tryLead("k", t0);
  ASSERT_TRUE(first);
  EXPECT_FALSE(coalescer.tryLead("k", t0 + 1s));
  first->publish(stored());
  EXPECT_TRUE(coalescer.tryLead("k", t0 + 2s));
}

// Real threads joining one key at once: exactly one leads, and every follower gets the outcome.
TEST(Coalescer, ConcurrentJoinsHaveExactlyOneLeader) {
  constexpr int kThreads = 8;
  Coalescer coalescer(5s);
  std::latch start(kThreads);
  std::latch joined(kThreads);
  std::atomic<int> leaders{0};
  std::atomic<int> delivered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      // Shared with the waiter, which runs on the leader's thread.
      auto done = std::make_shared<std::promise<void>>();
      auto j = coalescer.join("k", t0, [&delivered, done](const FlightOutcome& o) {
        if (o.kind == FlightOutcome::Kind::kStored) {
          delivered.fetch_add(1);
        }
        done->set_value();
      });
      joined.arrive_and_wait();  // everyone has joined before the leader publishes
      if (j.isLeader()) {
        leaders.fetch_add(1);
        j.leader->publish(stored());
      } else {
        done->get_future().wait();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(leaders.load(), 1);
  EXPECT_EQ(delivered.load(), kThreads - 1);
  EXPECT_EQ(coalescer.inFlight(), 0u);
}

// Cache: two concurrent misses on one URI make one upstream fetch; the follower is answered from
// the stored response when the leader completes.
TEST(Coalescer, CacheMissesOnOneUriFetchOnce) {
  auto cache = makeCacheOrDie();
  Lookup leader = cache->lookup(get(), at(0s));
  bool woken = false;
  Lookup follower = cache->lookup(get(), at(0s), [&](const FlightOutcome&) { woken = true; });
  ASSERT_EQ(leader.action, Lookup::Action::kForward);
  ASSERT_EQ(follower.action, Lookup::Action::kWait);
  EXPECT_EQ(follower.deadline, t0 + 5s);
  (void)cache->complete(leader, get(), ok({{"Cache-Control", "max-age=60"}}, "once"), at(0s).wall,
                        at(1s));
  EXPECT_TRUE(woken);
  Lookup resumed = cache->resume(std::move(follower), get(), at(1s));
  ASSERT_EQ(resumed.action, Lookup::Action::kServe);
  EXPECT_EQ(bodyOf(resumed.response), "once");
  EXPECT_EQ(cache->stats().misses, 1u);
  EXPECT_EQ(cache->stats().coalesced, 1u);
}

// Cache: a follower still waiting at its deadline leaves and fetches for itself.
TEST(Coalescer, CacheFollowerTimesOutAndForwards) {
  auto cache = makeCacheOrDie();
  Lookup leader = cache->lookup(get(), at(0s));
  Lookup follower = cache->lookup(get(), at(1s));
  ASSERT_EQ(follower.action, Lookup::Action::kWait);
  Lookup alone = cache->resume(std::move(follower), get(), at(6s));
  EXPECT_EQ(alone.action, Lookup::Action::kForward);
  (void)cache->complete(alone, get(), ok({{"Cache-Control", "max-age=60"}}, "mine"), at(6s).wall,
                        at(6s));
  EXPECT_EQ(bodyOf(fetch(*cache, get(), at(7s), {}).response), "mine");
}

// Cache: a response that may not be shared (private) is not handed to followers; they fetch
// their own.
TEST(Coalescer, CachePrivateResponseIsNotShared) {
  auto cache = makeCacheOrDie();
  Lookup leader = cache->lookup(get(), at(0s));
  Lookup follower = cache->lookup(get(), at(0s));
  const Response mine =
      cache->complete(leader, get(), ok({{"Cache-Control", "private, max-age=60"}}, "alice's"),
                      at(0s).wall, at(0s));
  EXPECT_EQ(bodyOf(mine), "alice's");
  Lookup next = cache->resume(std::move(follower), get(), at(1s));
  EXPECT_EQ(next.action, Lookup::Action::kForward);
}

// Cache: a follower whose Vary values differ from the leader's is not served the leader's
// variant.
TEST(Coalescer, CacheFollowerWithOtherVaryValuesFetchesItsOwn) {
  auto cache = makeCacheOrDie();
  const Request gzip = get(kUri, {{"Accept-Encoding", "gzip"}});
  const Request plain = get(kUri, {{"Accept-Encoding", "identity"}});
  Lookup leader = cache->lookup(gzip, at(0s));
  Lookup follower = cache->lookup(plain, at(0s));
  (void)cache->complete(leader, gzip,
                        ok({{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}}, "gz"),
                        at(0s).wall, at(0s));
  EXPECT_EQ(cache->resume(std::move(follower), plain, at(1s)).action, Lookup::Action::kForward);
}

// Cache under real threads: N concurrent requests for one URI, one upstream fetch, everyone
// gets the body.
TEST(Coalescer, CacheConcurrentRequestsMakeOneUpstreamFetch) {
  constexpr int kThreads = 6;
  auto cache = makeCacheOrDie();
  std::latch start(kThreads);
  std::mutex mutex;
  std::condition_variable decided;
  int decisions = 0;
  std::atomic<int> upstreamFetches{0};
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto woken = std::make_shared<std::promise<void>>();
      Lookup l =
          cache->lookup(get(), at(0s), [woken](const FlightOutcome&) { woken->set_value(); });
      {
        std::lock_guard lock(mutex);
        ++decisions;
      }
      decided.notify_all();
      Response r;
      if (l.action == Lookup::Action::kWait) {
        woken->get_future().wait();
        l = cache->resume(std::move(l), get(), at(1s));
      } else if (l.action == Lookup::Action::kForward) {
        std::unique_lock lock(mutex);
        decided.wait(lock, [&] { return decisions == kThreads; });
        lock.unlock();
        upstreamFetches.fetch_add(1);
        r = cache->complete(l, get(), ok({{"Cache-Control", "max-age=60"}}, "payload"), at(0s).wall,
                            at(1s));
      }
      if (l.action == Lookup::Action::kServe) {
        r = l.response;
      }
      if (bodyOf(r) == "payload") {
        served.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(upstreamFetches.load(), 1);
  EXPECT_EQ(served.load(), kThreads);
}

}  // namespace
}  // namespace fairway::cache
