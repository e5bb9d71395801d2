// consistent_hash: a ketama-style ring (Karger et al. 1997). Each endpoint owns points on a 64-bit
// ring in proportion to its weight, placed by hashing its id, so adding or removing one endpoint
// moves only the keys between its points and their predecessors: about 1/n of them. A key goes to
// the owner of the first point at or after hashKey(key).
//
// The ring covers every member, available or not; a pick walks past points of endpoints that are
// not candidates. Availability changes therefore reuse the ring and keep every other key where it
// was. With a balance factor c > 1, the walk also skips endpoints already holding
// ceil(c × (in-flight + 1) × weight share) requests (consistent hashing with bounded loads).
//
// Lookup is O(log n): a 65,536-entry index on the top 16 bits of the hash narrows the binary search
// to the few points in one slice.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

struct Ring {
  static constexpr int kIndexBits = 16;

  std::vector<std::uint64_t> hashes;  // ascending
  std::vector<std::uint32_t> owners;  // member index of each point
  std::vector<std::uint32_t> index;   // first point of each 2^kIndexBits slice, plus an end mark

  Ring(const Snapshot& snapshot, int pointsPerEndpoint) {
    const auto& weights = snapshot.weights;
    const std::int64_t heaviest =
        weights.empty() ? 1 : *std::max_element(weights.begin(), weights.end());
    std::vector<std::pair<std::uint64_t, std::uint32_t>> points;
    for (std::size_t m = 0; m < weights.size(); ++m) {
      const auto count = std::max<std::int64_t>(
          1, std::llround(static_cast<double>(pointsPerEndpoint) * static_cast<double>(weights[m]) /
                          static_cast<double>(heaviest)));
      const std::uint64_t base = hashKey(snapshot.members[m]->id());
      for (std::int64_t r = 0; r < count; ++r) {
        points.emplace_back(
            Random::mix(base + static_cast<std::uint64_t>(r) * 0x9e3779b97f4a7c15ULL),
            static_cast<std::uint32_t>(m));
      }
    }
    std::sort(points.begin(), points.end());
    hashes.reserve(points.size());
    owners.reserve(points.size());
    for (const auto& [h, m] : points) {
      hashes.push_back(h);
      owners.push_back(m);
    }
    index.assign((std::size_t{1} << kIndexBits) + 1, 0);
    std::size_t p = 0;
    for (std::size_t slice = 0; slice <= (std::size_t{1} << kIndexBits); ++slice) {
      while (p < hashes.size() && (hashes[p] >> (64 - kIndexBits)) < slice) {
        ++p;
      }
      index[slice] = static_cast<std::uint32_t>(p);
    }
  }

  // First point at or after `h`, wrapping to 0.
  std::size_t successor(std::uint64_t h) const {
    const std::size_t slice = h >> (64 - kIndexBits);
    const auto begin = hashes.begin() + index[slice];
    const auto end = hashes.begin() + index[slice + 1];
    const auto it = std::lower_bound(begin, end, h);
    const auto at = static_cast<std::size_t>(it - hashes.begin());
    return at == hashes.size() ? 0 : at;
  }
};

class RingHash final : public Picker {
 public:
  RingHash(const HashConfig& config, const Snapshot* snapshot, std::shared_ptr<const Ring> ring,
           std::shared_ptr<std::atomic<std::int64_t>> inFlight)
      : config_(config),
        snapshot_(snapshot),
        ring_(std::move(ring)),
        inFlight_(std::move(inFlight)) {}

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    std::shared_ptr<const Ring> ring = ring_;
    if (!ring || membershipVersion_ != next.membershipVersion) {
      ring = std::make_shared<const Ring>(next, config_.pointsPerEndpoint);
    }
    auto picker = std::make_unique<RingHash>(config_, &next, std::move(ring), inFlight_);
    picker->membershipVersion_ = next.membershipVersion;
    return picker;
  }

  std::size_t pick(const PickContext& context, Random& random) override {
    const Ring& ring = *ring_;
    const std::uint64_t h = context.hash ? *context.hash : random.next();
    const bool bounded = config_.balanceFactor > 0;
    const auto& candidateOf = snapshot_->candidateOfMember;
    std::size_t at = ring.successor(h);
    std::size_t fallback = kNone;
    for (std::size_t step = 0; step < ring.hashes.size(); ++step) {
      const std::int32_t c = candidateOf[ring.owners[at]];
      if (c >= 0) {
        const auto candidate = static_cast<std::size_t>(c);
        if (!bounded || withinBound(candidate)) {
          return take(candidate);
        }
        fallback = fallback == kNone ? candidate : fallback;
      }
      at = at + 1 == ring.hashes.size() ? 0 : at + 1;
    }
    // Every candidate over its bound cannot happen with a factor above 1; stay safe regardless.
    return fallback == kNone ? kNone : take(fallback);
  }

  void release(const Pick&, const Completion&) override {
    if (config_.balanceFactor > 0) {
      inFlight_->fetch_sub(1, std::memory_order_relaxed);
    }
  }

 private:
  std::size_t take(std::size_t candidate) {
    if (config_.balanceFactor > 0) {
      inFlight_->fetch_add(1, std::memory_order_relaxed);
    }
    return candidate;
  }

  bool withinBound(std::size_t candidate) const {
    const Candidate& c = snapshot_->candidates[candidate];
    const double share =
        static_cast<double>(c.weight) / static_cast<double>(snapshot_->totalWeight);
    const double total = static_cast<double>(inFlight_->load(std::memory_order_relaxed) + 1);
    const double bound = std::ceil(config_.balanceFactor * total * share);
    return static_cast<double>(c.endpoint->inFlight()) < bound;
  }

  HashConfig config_;
  const Snapshot* snapshot_;
  std::shared_ptr<const Ring> ring_;
  std::shared_ptr<std::atomic<std::int64_t>> inFlight_;  // all leases, across snapshots
  std::uint64_t membershipVersion_ = 0;
};

}  // namespace

std::unique_ptr<Picker> makeRingHash(const HashConfig& config) {
  return std::make_unique<RingHash>(config, nullptr, nullptr,
                                    std::make_shared<std::atomic<std::int64_t>>(0));
}

}  // namespace fairway::balancer
