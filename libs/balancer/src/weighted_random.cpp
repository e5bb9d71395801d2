// random: a candidate drawn with probability proportional to its weight, in O(1) per pick from
// Vose's alias table (Vose 1991, "A linear algorithm for generating random numbers with a given
// distribution"), rebuilt in O(n) when the set changes.

#include <memory>
#include <vector>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

class WeightedRandom final : public Picker {
 public:
  WeightedRandom() = default;

  explicit WeightedRandom(const Snapshot& snapshot) : size_(snapshot.candidates.size()) {
    if (snapshot.uniformWeights || size_ == 0) {
      return;
    }
    // Scaled weights: each column holds n × w / total of its own mass; fill the light columns from
    // the heavy ones. Thresholds are 32-bit fractions of a column.
    const std::size_t n = size_;
    std::vector<double> mass(n);
    std::vector<std::uint32_t> light, heavy;
    for (std::size_t i = 0; i < n; ++i) {
      mass[i] = static_cast<double>(snapshot.candidates[i].weight) * static_cast<double>(n) /
                static_cast<double>(snapshot.totalWeight);
      (mass[i] < 1.0 ? light : heavy).push_back(static_cast<std::uint32_t>(i));
    }
    threshold_.assign(n, kFull);
    alias_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      alias_[i] = static_cast<std::uint32_t>(i);
    }
    while (!light.empty() && !heavy.empty()) {
      const std::uint32_t l = light.back();
      light.pop_back();
      const std::uint32_t h = heavy.back();
      threshold_[l] = static_cast<std::uint64_t>(mass[l] * static_cast<double>(kFull));
      alias_[l] = h;
      mass[h] -= 1.0 - mass[l];
      if (mass[h] < 1.0) {
        heavy.pop_back();
        light.push_back(h);
      }
    }
    // Whatever remains is full up to rounding.
  }

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    return std::make_unique<WeightedRandom>(next);
  }

  std::size_t pick(const PickContext&, Random& random) override {
    const std::uint64_t r = random.next();
    // High bits choose the column, low 32 bits the side of its threshold.
    const auto column = static_cast<std::size_t>((static_cast<Uint128>(r) * size_) >> 64);
    if (threshold_.empty()) {
      return column;
    }
    return (r & 0xffffffffULL) < threshold_[column] ? column : alias_[column];
  }

 private:
  static constexpr std::uint64_t kFull = 1ULL << 32;

  std::size_t size_ = 0;
  std::vector<std::uint64_t> threshold_;  // empty when weights are uniform
  std::vector<std::uint32_t> alias_;
};

}  // namespace

std::unique_ptr<Picker> makeWeightedRandom() {
  return std::make_unique<WeightedRandom>();
}

}  // namespace fairway::balancer
