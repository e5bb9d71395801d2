#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fairway::sim {

// One scheduled event: what (`kind`, with two operands whose meaning the kind gives) and when.
// `seq` is the insertion order: events at the same instant come out in the order they went in.
struct Event {
  std::int64_t time = 0;  // virtual nanoseconds
  std::uint64_t seq = 0;
  std::uint32_t kind = 0;
  std::uint32_t index = 0;
  std::uint64_t data = 0;
};

// True when `a` comes out before `b`: earlier, or as early and inserted first.
inline bool before(const Event& a, const Event& b) {
  return a.time < b.time || (a.time == b.time && a.seq < b.seq);
}

// The discrete-event queue: a 4-ary min-heap on (time, insertion order), plus a few FIFO lanes for
// events that are scheduled in time order anyway (a fixed timeout after a non-decreasing `now`),
// which then cost O(1) instead of O(log n). Ties between the heap and the lanes break by insertion
// order too, so the order events come out in depends only on the calls made: runs are
// deterministic. Not thread-safe; one queue per simulated world.
class EventQueue {
 public:
  static constexpr std::size_t kLanes = 2;

  // Schedules an event. O(log n).
  void push(std::int64_t time, std::uint32_t kind, std::uint32_t index, std::uint64_t data) {
    pushHeap({time, seq_++, kind, index, data});
  }

  // Schedules an event in FIFO lane `lane`: O(1) when `time` is no earlier than the last event of
  // that lane, else it goes to the heap (order is kept either way).
  void pushLane(std::size_t lane, std::int64_t time, std::uint32_t kind, std::uint32_t index,
                std::uint64_t data) {
    assert(lane < kLanes);
    Lane& l = lanes_[lane];
    const Event event{time, seq_++, kind, index, data};
    if (l.size != 0 && time < l.back) {
      pushHeap(event);
      return;
    }
    l.push(event);
  }

  bool empty() const { return size() == 0; }
  std::size_t size() const {
    std::size_t n = heap_.size();
    for (const Lane& l : lanes_) {
      n += l.size;
    }
    return n;
  }
  // Events scheduled so far, over the queue's life.
  std::uint64_t scheduled() const { return seq_; }

  // Removes and returns the next event. Precondition: !empty().
  Event pop() {
    int from = -1;  // -1: the heap
    const Event* best = heap_.empty() ? nullptr : &heap_.front();
    for (std::size_t i = 0; i < kLanes; ++i) {
      const Lane& l = lanes_[i];
      if (l.size != 0 && (best == nullptr || before(l.front(), *best))) {
        best = &l.front();
        from = static_cast<int>(i);
      }
    }
    assert(best != nullptr);
    if (from >= 0) {
      return lanes_[static_cast<std::size_t>(from)].pop();
    }
    return popHeap();
  }

  // The time of the next event. Precondition: !empty().
  std::int64_t nextTime() const {
    std::int64_t t = heap_.empty() ? INT64_MAX : heap_.front().time;
    for (const Lane& l : lanes_) {
      if (l.size != 0 && l.front().time < t) {
        t = l.front().time;
      }
    }
    return t;
  }

 private:
  // A growable ring buffer.
  struct Lane {
    std::vector<Event> ring;  // capacity: a power of two
    std::size_t head = 0;
    std::size_t size = 0;
    std::int64_t back = 0;  // time of the newest event

    const Event& front() const { return ring[head]; }
    void push(const Event& event) {
      if (size == ring.size()) {
        grow();
      }
      ring[(head + size) & (ring.size() - 1)] = event;
      ++size;
      back = event.time;
    }
    Event pop() {
      const Event event = ring[head];
      head = (head + 1) & (ring.size() - 1);
      --size;
      return event;
    }
    void grow() {
      std::vector<Event> next(ring.empty() ? 64 : ring.size() * 2);
      for (std::size_t i = 0; i < size; ++i) {
        next[i] = ring[(head + i) & (ring.size() - 1)];
      }
      ring.swap(next);
      head = 0;
    }
  };

  static constexpr std::size_t kArity = 4;

  void pushHeap(const Event& event) {
    std::size_t hole = heap_.size();
    heap_.push_back(event);
    while (hole > 0) {
      const std::size_t parent = (hole - 1) / kArity;
      if (!before(event, heap_[parent])) {
        break;
      }
      heap_[hole] = heap_[parent];
      hole = parent;
    }
    heap_[hole] = event;
  }

  Event popHeap() {
    const Event top = heap_.front();
    const Event last = heap_.back();
    heap_.pop_back();
    const std::size_t n = heap_.size();
    if (n == 0) {
      return top;
    }
    std::size_t hole = 0;
    for (;;) {
      const std::size_t first = hole * kArity + 1;
      if (first >= n) {
        break;
      }
      std::size_t best = first;
      const std::size_t end = first + kArity < n ? first + kArity : n;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (before(heap_[c], heap_[best])) {
          best = c;
        }
      }
      if (!before(heap_[best], last)) {
        break;
      }
      heap_[hole] = heap_[best];
      hole = best;
    }
    heap_[hole] = last;
    return top;
  }

  std::vector<Event> heap_;
  Lane lanes_[kLanes];
  std::uint64_t seq_ = 0;
};

}  // namespace fairway::sim
