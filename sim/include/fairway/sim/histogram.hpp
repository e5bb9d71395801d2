#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace fairway::sim {

// A streaming histogram of non-negative integers (latencies in nanoseconds) in fixed memory, as
// HdrHistogram lays it out: values below 2^(kSubBits+1) each have their own bucket, and every
// octave above is split into 2^kSubBits equal buckets, so a bucket's width is under 1/128 of its
// values (quantiles within 0.4% when reported at bucket midpoints). Values up to 2^44 ns (about
// 4.9 hours) are binned; larger ones count in the last bucket. The count, sum, minimum and
// maximum are exact. 38 KiB; recording is a few instructions. Not thread-safe.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxBits = 44;
  static constexpr std::size_t kBuckets = static_cast<std::size_t>(kMaxBits - kSubBits + 1)
                                          << kSubBits;

  Histogram() : counts_(kBuckets, 0) {}

  void record(std::int64_t value) {
    const std::uint64_t v = value < 0 ? 0 : static_cast<std::uint64_t>(value);
    ++counts_[bucketOf(v)];
    ++count_;
    sum_ += static_cast<double>(v);
    if (v < min_) {
      min_ = v;
    }
    if (v > max_) {
      max_ = v;
    }
  }

  // Adds every value recorded in `other`.
  void merge(const Histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }

  // The q-quantile (q in [0, 1]): the midpoint of the bucket holding the ceil(q × count)-th
  // smallest value, clamped to [min, max]; 0 when empty.
  double quantile(double q) const;

  // (value, cumulative fraction) at each non-empty bucket's upper edge: the empirical CDF, at
  // most `maxPoints` points (buckets merged evenly), for plots.
  std::vector<std::array<double, 2>> cdf(std::size_t maxPoints = 400) const;

  static std::size_t bucketOf(std::uint64_t v) {
    constexpr std::uint64_t kLinear = std::uint64_t{2} << kSubBits;  // 256
    if (v < kLinear) {
      return static_cast<std::size_t>(v);
    }
    const int msb = 63 - __builtin_clzll(v);
    if (msb >= kMaxBits) {
      return kBuckets - 1;
    }
    const int shift = msb - kSubBits;
    return (static_cast<std::size_t>(shift + 1) << kSubBits) +
           static_cast<std::size_t>((v >> shift) - (std::uint64_t{1} << kSubBits));
  }
  // The smallest value of bucket `b`, and one past its largest.
  static std::uint64_t lowerBound(std::size_t b);
  static std::uint64_t upperBound(std::size_t b);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace fairway::sim
