// Service-time distributions, the Zipf key sampler and the streaming histogram.

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/sim/distribution.hpp>
#include <fairway/sim/histogram.hpp>

namespace fairway::sim {
namespace {

struct Moments {
  double mean = 0;
  double variance = 0;
};

Moments moments(const Distribution& d, int n, std::uint64_t seed) {
  Random random(seed);
  double sum = 0;
  double sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = d.sample(random);
    EXPECT_GE(x, 0);
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n;
  return {mean, sum2 / n - mean * mean};
}

TEST(Distribution, DeterministicIsConstant) {
  Random random(1);
  const Distribution d = Distribution::deterministic(5e6);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(d.sample(random), 5e6);
  }
  EXPECT_EQ(d.scv(), 0);
}

TEST(Distribution, ExponentialHasItsMeanAndUnitScv) {
  const Moments m = moments(Distribution::exponential(10), 400000, 7);
  EXPECT_NEAR(m.mean, 10, 0.1);
  EXPECT_NEAR(m.variance / (m.mean * m.mean), 1.0, 0.03);
}

TEST(Distribution, LognormalHasItsMeanAndScv) {
  const Distribution d = Distribution::lognormal(10, 0.5);
  const Moments m = moments(d, 400000, 8);
  EXPECT_NEAR(m.mean, 10, 0.1);
  EXPECT_NEAR(m.variance / (m.mean * m.mean), d.scv(), 0.02);
  EXPECT_NEAR(d.scv(), std::expm1(0.25), 1e-12);
}

TEST(Distribution, ParetoHasItsMeanAndMinimum) {
  const Distribution d = Distribution::pareto(10, 3.0);
  Random random(9);
  double sum = 0;
  double low = 1e300;
  const int n = 1000000;
  for (int i = 0; i < n; ++i) {
    const double x = d.sample(random);
    sum += x;
    low = std::min(low, x);
  }
  EXPECT_NEAR(sum / n, 10, 0.15);
  EXPECT_GE(low, 10 * 2.0 / 3.0);  // the scale, mean (alpha - 1) / alpha
  EXPECT_NEAR(d.scv(), 1.0 / 3.0, 1e-12);
}

// Same generator state, same draws: no hidden state in sample().
TEST(Distribution, SameSeedSameSequence) {
  const Distribution d = Distribution::lognormal(3, 1);
  Random a(5);
  Random b(5);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(d.sample(a), d.sample(b));
  }
}

TEST(Distribution, Describe) {
  EXPECT_EQ(Distribution::exponential(10e6).describe(), "exponential(mean 10ms)");
  EXPECT_EQ(Distribution::lognormal(1.5e9, 0.5).describe(), "lognormal(mean 1500ms, sigma 0.5)");
}

// Frequencies of the first ranks against 1/k^s normalised by the generalised harmonic number.
TEST(ZipfSampler, FollowsThePowerLaw) {
  const std::uint64_t n = 1000;
  const double s = 1.1;
  ZipfSampler zipf(n, s);
  double harmonic = 0;
  for (std::uint64_t k = 1; k <= n; ++k) {
    harmonic += std::pow(static_cast<double>(k), -s);
  }
  Random random(11);
  std::vector<int> counts(n, 0);
  const int draws = 1000000;
  for (int i = 0; i < draws; ++i) {
    const std::uint64_t k = zipf.sample(random);
    ASSERT_LT(k, n);
    ++counts[k];
  }
  for (std::uint64_t k = 0; k < 5; ++k) {
    const double expected = std::pow(static_cast<double>(k + 1), -s) / harmonic;
    EXPECT_NEAR(counts[k] / static_cast<double>(draws), expected, expected * 0.02) << "rank " << k;
  }
}

TEST(ZipfSampler, ExponentZeroIsUniform) {
  ZipfSampler zipf(4, 0);
  Random random(3);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 400000; ++i) {
    ++counts[zipf.sample(random)];
  }
  for (int c : counts) {
    EXPECT_NEAR(c, 100000, 1500);
  }
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int v = 0; v < 256; ++v) {
    EXPECT_EQ(Histogram::bucketOf(static_cast<std::uint64_t>(v)), static_cast<std::size_t>(v));
    h.record(v);
  }
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 255u);
  EXPECT_EQ(h.quantile(0.5), 127);
}

// Every bucket's bounds contain exactly the values that map to it, and are contiguous.
TEST(Histogram, BucketBoundsAreContiguous) {
  for (std::size_t b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::upperBound(b), Histogram::lowerBound(b + 1)) << b;
    ASSERT_EQ(Histogram::bucketOf(Histogram::lowerBound(b)), b);
    ASSERT_EQ(Histogram::bucketOf(Histogram::upperBound(b) - 1), b);
  }
  EXPECT_EQ(Histogram::bucketOf(std::uint64_t{1} << 50), Histogram::kBuckets - 1);
}

// Quantiles of a million exponential values within 0.5% of the exact ones.
TEST(Histogram, QuantilesWithinHalfAPercent) {
  Histogram h;
  Random random(13);
  const Distribution d = Distribution::exponential(1e7);
  std::vector<double> values;
  for (int i = 0; i < 1000000; ++i) {
    const auto v = static_cast<std::int64_t>(d.sample(random));
    values.push_back(static_cast<double>(v));
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1];
    EXPECT_NEAR(h.quantile(q), exact, exact * 0.005) << "q " << q;
  }
  double sum = 0;
  for (double v : values) {
    sum += v;
  }
  EXPECT_DOUBLE_EQ(h.mean(), sum / static_cast<double>(values.size()));
  const auto cdf = h.cdf(100);
  ASSERT_FALSE(cdf.empty());
  EXPECT_LE(cdf.size(), 101u);
  EXPECT_DOUBLE_EQ(cdf.back()[1], 1.0);
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a;
  Histogram b;
  a.record(10);
  b.record(1000);
  b.record(5);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 1000u);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.quantile(0.5), 0);
}

}  // namespace
}  // namespace fairway::sim
