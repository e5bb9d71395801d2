// p2c / least_request: two distinct candidates drawn uniformly; the one with the larger
// weight / (in-flight + 1) wins (Mitzenmacher 2001, "The Power of Two Choices in Randomized Load
// Balancing"; weighted as Envoy's least_request). O(1), lock-free.
//
// peak_ewma: the same two choices, compared by latency cost instead (Finagle's PeakEwma).

#include <cmath>
#include <memory>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

// Two distinct candidate indices, uniformly.
std::pair<std::size_t, std::size_t> drawTwo(std::size_t n, Random& random) {
  const auto a = static_cast<std::size_t>(random.below(n));
  auto b = static_cast<std::size_t>(random.below(n - 1));
  b += b >= a ? 1 : 0;
  return {a, b};
}

class PowerOfTwo final : public Picker {
 public:
  explicit PowerOfTwo(const Snapshot* snapshot) : snapshot_(snapshot) {}

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    return std::make_unique<PowerOfTwo>(&next);
  }

  std::size_t pick(const PickContext&, Random& random) override {
    const auto& candidates = snapshot_->candidates;
    if (candidates.size() == 1) {
      return 0;
    }
    const auto [a, b] = drawTwo(candidates.size(), random);
    const Candidate& x = candidates[a];
    const Candidate& y = candidates[b];
    // x wins when x.weight / (x.inFlight + 1) >= y.weight / (y.inFlight + 1).
    const auto lhs =
        static_cast<Uint128>(x.weight) * static_cast<std::uint64_t>(y.endpoint->inFlight() + 1);
    const auto rhs =
        static_cast<Uint128>(y.weight) * static_cast<std::uint64_t>(x.endpoint->inFlight() + 1);
    return lhs >= rhs ? a : b;
  }

 private:
  const Snapshot* snapshot_;
};

class PeakEwma final : public Picker {
 public:
  PeakEwma(const Snapshot* snapshot, const EwmaConfig& config)
      : snapshot_(snapshot), config_(config) {}

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    return std::make_unique<PeakEwma>(&next, config_);
  }

  std::size_t pick(const PickContext& context, Random& random) override {
    const auto& candidates = snapshot_->candidates;
    if (candidates.size() == 1) {
      return 0;
    }
    const auto [a, b] = drawTwo(candidates.size(), random);
    return cost(candidates[a], context.now) <= cost(candidates[b], context.now) ? a : b;
  }

  void release(const Pick& pick, const Completion& completion) override {
    EndpointAccess::observeLatency(*pick.endpoint, completion, config_.decay);
  }

 private:
  double cost(const Candidate& c, TimePoint now) const {
    const auto inFlight = static_cast<double>(c.endpoint->inFlight());
    double latency = EndpointAccess::decayedLatencyNs(*c.endpoint, now, config_.decay);
    if (latency == 0.0 && inFlight > 0) {
      latency = static_cast<double>(config_.penalty.count());
    }
    return latency * (inFlight + 1) / static_cast<double>(c.weight);
  }

  const Snapshot* snapshot_;
  EwmaConfig config_;
};

}  // namespace

void EndpointAccess::observeLatency(Endpoint& endpoint, const Completion& completion,
                                    std::chrono::nanoseconds decay) {
  // Releases of one endpoint are rare next to picks; a tiny spin lock keeps value and stamp
  // consistent without a mutex in every Endpoint.
  while (endpoint.ewmaLock_.test_and_set(std::memory_order_acquire)) {
  }
  const double observed = static_cast<double>(completion.latency.count());
  const double previous = endpoint.ewmaNs_.load(std::memory_order_relaxed);
  const Clock::rep stamp = endpoint.ewmaStamp_.load(std::memory_order_relaxed);
  const Clock::rep now = completion.now.time_since_epoch().count();
  double next;
  if (observed > previous || previous == 0.0) {
    next = observed;
  } else {
    const double elapsed = static_cast<double>(std::max<Clock::rep>(0, now - stamp));
    const double w = std::exp(-elapsed / static_cast<double>(decay.count()));
    next = previous * w + observed * (1.0 - w);
  }
  endpoint.ewmaNs_.store(next, std::memory_order_relaxed);
  endpoint.ewmaStamp_.store(std::max(now, stamp), std::memory_order_relaxed);
  endpoint.ewmaLock_.clear(std::memory_order_release);
}

double EndpointAccess::decayedLatencyNs(const Endpoint& endpoint, TimePoint now,
                                        std::chrono::nanoseconds decay) {
  const double value = endpoint.ewmaNs_.load(std::memory_order_relaxed);
  if (value == 0.0) {
    return 0.0;
  }
  const Clock::rep stamp = endpoint.ewmaStamp_.load(std::memory_order_relaxed);
  const double elapsed =
      static_cast<double>(std::max<Clock::rep>(0, now.time_since_epoch().count() - stamp));
  return value * std::exp(-elapsed / static_cast<double>(decay.count()));
}

std::unique_ptr<Picker> makePowerOfTwo() {
  return std::make_unique<PowerOfTwo>(nullptr);
}

std::unique_ptr<Picker> makePeakEwma(const EwmaConfig& config) {
  return std::make_unique<PeakEwma>(nullptr, config);
}

}  // namespace fairway::balancer
