#include <algorithm>
#include <cmath>

#include <fairway/sim/histogram.hpp>

namespace fairway::sim {

std::uint64_t Histogram::lowerBound(std::size_t b) {
  constexpr std::size_t kLinear = std::size_t{2} << kSubBits;
  if (b < kLinear) {
    return b;
  }
  const int shift = static_cast<int>(b >> kSubBits) - 1;
  const std::uint64_t sub =
      (b & ((std::size_t{1} << kSubBits) - 1)) + (std::uint64_t{1} << kSubBits);
  return sub << shift;
}

std::uint64_t Histogram::upperBound(std::size_t b) {
  constexpr std::size_t kLinear = std::size_t{2} << kSubBits;
  if (b < kLinear) {
    return b + 1;
  }
  const int shift = static_cast<int>(b >> kSubBits) - 1;
  return lowerBound(b) + (std::uint64_t{1} << shift);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double Histogram::quantile(double q) const {
  if (count_ == 0) {
    return 0.0;
  }
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      const double lo = static_cast<double>(lowerBound(b));
      const double hi = static_cast<double>(upperBound(b));
      const double mid = b < (std::size_t{2} << kSubBits) ? lo : (lo + hi) / 2.0;
      return std::clamp(mid, static_cast<double>(min()), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

std::vector<std::array<double, 2>> Histogram::cdf(std::size_t maxPoints) const {
  std::vector<std::array<double, 2>> points;
  if (count_ == 0 || maxPoints == 0) {
    return points;
  }
  std::size_t first = 0;
  while (counts_[first] == 0) {
    ++first;
  }
  std::size_t last = kBuckets - 1;
  while (counts_[last] == 0) {
    --last;
  }
  const std::size_t span = last - first + 1;
  const std::size_t step = (span + maxPoints - 1) / maxPoints;
  std::uint64_t seen = 0;
  for (std::size_t b = first; b <= last; ++b) {
    seen += counts_[b];
    if (counts_[b] != 0 && ((b - first + 1) % step == 0 || b == last)) {
      const double edge = std::min(static_cast<double>(upperBound(b)), static_cast<double>(max_));
      points.push_back({edge, static_cast<double>(seen) / static_cast<double>(count_)});
    }
  }
  return points;
}

}  // namespace fairway::sim
