// The event queue: time order, ties broken by insertion order (so runs are deterministic), FIFO
// lanes interleaved with the heap by the same rule.

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/core/random.hpp>
#include <fairway/sim/event_queue.hpp>

namespace fairway::sim {
namespace {

std::vector<std::uint64_t> drain(EventQueue& q) {
  std::vector<std::uint64_t> out;
  while (!q.empty()) {
    out.push_back(q.pop().data);
  }
  return out;
}

TEST(EventQueue, PopsInTimeOrder) {
  EventQueue q;
  q.push(30, 0, 0, 3);
  q.push(10, 0, 0, 1);
  q.push(20, 0, 0, 2);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.nextTime(), 10);
  EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{1, 2, 3}));
}

// Events at the same instant come out in the order they were scheduled, however many there are.
TEST(EventQueue, TiesBreakByInsertionOrder) {
  EventQueue q;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    q.push(i % 2 == 0 ? 5 : 7, 0, 0, i);
  }
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 0; i < 1000; i += 2) {
    expected.push_back(i);
  }
  for (std::uint64_t i = 1; i < 1000; i += 2) {
    expected.push_back(i);
  }
  EXPECT_EQ(drain(q), expected);
}

// A lane's events and the heap's merge by (time, insertion order) too.
TEST(EventQueue, LanesInterleaveWithTheHeapByTimeThenInsertion) {
  EventQueue q;
  q.pushLane(0, 10, 0, 0, 1);  // seq 0
  q.push(10, 0, 0, 2);         // seq 1: same time, later
  q.pushLane(1, 5, 0, 0, 3);   // seq 2: earliest
  q.pushLane(0, 20, 0, 0, 4);  // seq 3
  q.push(15, 0, 0, 5);         // seq 4
  q.pushLane(1, 20, 0, 0, 6);  // seq 5: ties with seq 3, later
  EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{3, 1, 2, 5, 4, 6}));
}

// An event scheduled into a lane earlier than the lane's last goes through the heap instead, so
// order still holds.
TEST(EventQueue, OutOfOrderLanePushKeepsOrder) {
  EventQueue q;
  q.pushLane(0, 100, 0, 0, 1);
  q.pushLane(0, 50, 0, 0, 2);
  q.pushLane(0, 100, 0, 0, 3);
  EXPECT_EQ(drain(q), (std::vector<std::uint64_t>{2, 1, 3}));
}

// Against a reference order on random input: a sort by (time, insertion).
TEST(EventQueue, MatchesAStableSortOnRandomInput) {
  core::Random random(42);
  EventQueue q;
  struct Item {
    std::int64_t time;
    std::uint64_t id;
  };
  std::vector<Item> reference;
  std::vector<std::uint64_t> popped;
  std::uint64_t id = 0;
  std::int64_t laneTime = 0;
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 50; ++k) {
      const auto t = static_cast<std::int64_t>(random.below(1000));
      if (random.below(3) == 0) {
        laneTime += static_cast<std::int64_t>(random.below(5));
        q.pushLane(0, laneTime, 0, 0, id);
        reference.push_back({laneTime, id++});
      } else {
        q.push(t, 0, 0, id);
        reference.push_back({t, id++});
      }
    }
    for (int k = 0; k < 30 && !q.empty(); ++k) {
      const Event e = q.pop();
      // The popped event is the smallest (time, id) still in the reference.
      auto best = reference.begin();
      for (auto it = reference.begin(); it != reference.end(); ++it) {
        if (it->time < best->time || (it->time == best->time && it->id < best->id)) {
          best = it;
        }
      }
      ASSERT_EQ(e.data, best->id);
      ASSERT_EQ(e.time, best->time);
      reference.erase(best);
      popped.push_back(e.data);
    }
  }
  EXPECT_EQ(q.size(), reference.size());
  EXPECT_EQ(q.scheduled(), id);
}

}  // namespace
}  // namespace fairway::sim
