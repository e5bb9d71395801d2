// round_robin: each candidate in turn, weights ignored.

#include <atomic>
#include <memory>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

class RoundRobin final : public Picker {
 public:
  RoundRobin(const Snapshot* snapshot, std::shared_ptr<std::atomic<std::uint64_t>> next)
      : snapshot_(snapshot), next_(std::move(next)) {}

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    // The position carries over, so a change does not send the next request back to the first.
    return std::make_unique<RoundRobin>(&next, next_);
  }
  std::size_t pick(const PickContext&, Random&) override {
    return next_->fetch_add(1, std::memory_order_relaxed) % snapshot_->candidates.size();
  }

 private:
  const Snapshot* snapshot_;
  std::shared_ptr<std::atomic<std::uint64_t>> next_;
};

}  // namespace

std::unique_ptr<Picker> makeRoundRobin() {
  return std::make_unique<RoundRobin>(nullptr, std::make_shared<std::atomic<std::uint64_t>>(0));
}

}  // namespace fairway::balancer
