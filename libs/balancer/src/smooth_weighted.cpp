// weighted_round_robin: nginx's smooth weighted round robin (ngx_http_upstream_get_peer), exactly:
// every pick adds each weight to its endpoint's current value, picks the largest (the first in
// order on ties) and subtracts the total from it. Weights 5:1:1 give a a b a c a a.
//
// nginx scans every endpoint per pick. Endpoints of equal weight move in lockstep, though: within
// such a group the values differ only by how often each was picked, so the group's best is always
// the first not yet picked in the current round. Tracking one value and one cursor per distinct
// weight gives nginx's sequence in O(distinct weights) per pick instead of O(endpoints).

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <fairway/core/adaptive_mutex.hpp>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

class SmoothWeighted final : public Picker {
 public:
  SmoothWeighted() = default;

  explicit SmoothWeighted(const Snapshot& snapshot) {
    std::map<std::uint64_t, std::size_t> groupOf;
    for (std::size_t i = 0; i < snapshot.candidates.size(); ++i) {
      const std::uint64_t weight = snapshot.candidates[i].weight;
      auto [it, fresh] = groupOf.emplace(weight, groups_.size());
      if (fresh) {
        groups_.push_back({static_cast<std::int64_t>(weight), 0, 0, {}});
      }
      groups_[it->second].members.push_back(static_cast<std::uint32_t>(i));
    }
    total_ = static_cast<std::int64_t>(snapshot.totalWeight);
  }

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    // nginx also starts over from zero when its peers change.
    return std::make_unique<SmoothWeighted>(next);
  }

  std::size_t pick(const PickContext&, Random&) override {
    std::lock_guard lock(mutex_);
    Group* best = nullptr;
    for (Group& g : groups_) {
      g.current += g.weight;
      if (best == nullptr || g.current > best->current ||
          (g.current == best->current && g.members[g.cursor] < best->members[best->cursor])) {
        best = &g;
      }
    }
    const std::uint32_t chosen = best->members[best->cursor];
    // The chosen member drops by the total; once every member of the group has dropped, the
    // group's leading value is the dropped one.
    if (++best->cursor == best->members.size()) {
      best->cursor = 0;
      best->current -= total_;
    }
    return chosen;
  }

 private:
  struct Group {
    std::int64_t weight;                 // each member's effective weight
    std::int64_t current;                // current value of the members not yet picked this round
    std::uint32_t cursor;                // first member not yet picked this round
    std::vector<std::uint32_t> members;  // candidate indices, ascending
  };

  core::AdaptiveMutex mutex_;  // held for a few dozen nanoseconds per pick
  std::vector<Group> groups_;
  std::int64_t total_ = 0;
};

}  // namespace

std::unique_ptr<Picker> makeSmoothWeighted() {
  return std::make_unique<SmoothWeighted>();
}

}  // namespace fairway::balancer
