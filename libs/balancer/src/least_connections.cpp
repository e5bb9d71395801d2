// least_connections: the candidate with the fewest in-flight requests per unit of weight, counting
// the request being placed ((in-flight + 1) / weight, as HAProxy's leastconn and nginx's
// least_conn weigh it). Ties go round-robin: among equal loads, the one touched longest ago.
//
// An indexed binary min-heap keyed by load keeps picks and releases at O(log n) under one short
// lock, where a scan would be O(n).

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fairway/core/adaptive_mutex.hpp>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

class LeastConnections final : public Picker {
 public:
  LeastConnections() = default;

  explicit LeastConnections(const Snapshot& snapshot) : generation_(snapshot.generation) {
    const std::size_t n = snapshot.candidates.size();
    entries_.reserve(n);
    heap_.resize(n);
    position_.resize(n);
    indexOf_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Candidate& c = snapshot.candidates[i];
      entries_.push_back(
          {static_cast<std::uint64_t>(std::max<std::int64_t>(0, c.endpoint->inFlight())), c.weight,
           i});
      heap_[i] = static_cast<std::uint32_t>(i);
      position_[i] = static_cast<std::uint32_t>(i);
      indexOf_.emplace(c.endpoint, static_cast<std::uint32_t>(i));
    }
    sequence_ = n;
    for (std::size_t i = n / 2; i-- > 0;) {
      siftDown(i);
    }
  }

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    return std::make_unique<LeastConnections>(next);
  }

  std::size_t pick(const PickContext&, Random&) override {
    std::lock_guard lock(mutex_);
    const std::uint32_t chosen = heap_[0];
    Entry& e = entries_[chosen];
    ++e.inFlight;
    e.touched = ++sequence_;
    siftDown(0);
    return chosen;
  }

  void release(const Pick& pick, const Completion&) override {
    std::lock_guard lock(mutex_);
    std::uint32_t index;
    if (pick.generation == generation_) {
      index = pick.candidate;
    } else {
      // Picked from an earlier snapshot: find the endpoint here, if it is still a candidate.
      auto it = indexOf_.find(pick.endpoint);
      if (it == indexOf_.end()) {
        return;
      }
      index = it->second;
    }
    Entry& e = entries_[index];
    if (e.inFlight == 0) {
      return;  // counted before this snapshot was built, and already released
    }
    --e.inFlight;
    e.touched = ++sequence_;
    siftUp(position_[index]);
  }

 private:
  struct Entry {
    std::uint64_t inFlight;
    std::uint64_t weight;
    std::uint64_t touched;  // sequence number of the last change, for round-robin ties
  };

  // (a.inFlight + 1) / a.weight < (b.inFlight + 1) / b.weight, in integers.
  bool before(std::uint32_t a, std::uint32_t b) const {
    const Entry& x = entries_[a];
    const Entry& y = entries_[b];
    const auto lhs = static_cast<Uint128>(x.inFlight + 1) * y.weight;
    const auto rhs = static_cast<Uint128>(y.inFlight + 1) * x.weight;
    return lhs != rhs ? lhs < rhs : x.touched < y.touched;
  }

  void place(std::size_t slot, std::uint32_t entry) {
    heap_[slot] = entry;
    position_[entry] = static_cast<std::uint32_t>(slot);
  }

  void siftDown(std::size_t slot) {
    const std::uint32_t entry = heap_[slot];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * slot + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) {
        ++child;
      }
      if (!before(heap_[child], entry)) {
        break;
      }
      place(slot, heap_[child]);
      slot = child;
    }
    place(slot, entry);
  }

  void siftUp(std::size_t slot) {
    const std::uint32_t entry = heap_[slot];
    while (slot > 0) {
      const std::size_t parent = (slot - 1) / 2;
      if (!before(entry, heap_[parent])) {
        break;
      }
      place(slot, heap_[parent]);
      slot = parent;
    }
    place(slot, entry);
  }

  core::AdaptiveMutex mutex_;  // held for a few dozen nanoseconds per pick
  std::uint64_t generation_ = 0;
  std::vector<Entry> entries_;           // by candidate index
  std::vector<std::uint32_t> heap_;      // candidate indices, heap-ordered by before()
  std::vector<std::uint32_t> position_;  // candidate index -> slot in heap_
  std::unordered_map<const Endpoint*, std::uint32_t> indexOf_;
  std::uint64_t sequence_ = 0;
};

}  // namespace

std::unique_ptr<Picker> makeLeastConnections() {
  return std::make_unique<LeastConnections>();
}

}  // namespace fairway::balancer
