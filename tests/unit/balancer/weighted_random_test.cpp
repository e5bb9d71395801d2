#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>
#include <fairway/balancer/random.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using test::binomialBound;
using test::contextAt;
using test::countPicks;
using test::endpointsNamed;
using test::endpointsWeighted;
using test::makeBalancer;
using test::pickIds;
using test::t0;

constexpr int kPicks = 100'000;

// Expects each "e<i>" to get its weight's share of `counts` within five binomial deviations.
void expectSharesFollowWeights(const std::map<std::string, int>& counts,
                               const std::vector<std::int64_t>& weights) {
  std::int64_t total = 0;
  for (const std::int64_t w : weights) {
    total += w;
  }
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const std::string id = "e" + std::to_string(i);
    const double p = static_cast<double>(weights[i]) / static_cast<double>(total);
    const auto it = counts.find(id);
    const int count = it == counts.end() ? 0 : it->second;
    EXPECT_NEAR(count, kPicks * p, binomialBound(kPicks, p))
        << id << " (weight " << weights[i] << ")";
  }
}

// Equal weights: every endpoint gets about the same share.
TEST(WeightedRandomTest, UniformWeightsGiveEqualShares) {
  const std::vector<std::int64_t> weights = {1, 1, 1, 1, 1};
  auto balancer = makeBalancer("random", endpointsWeighted(weights));
  Random random(1);

  expectSharesFollowWeights(countPicks(*balancer, kPicks, contextAt(t0, &random)), weights);
}

// Weights 1:2:3:4: shares of 10%, 20%, 30% and 40%.
TEST(WeightedRandomTest, SharesFollowWeights) {
  const std::vector<std::int64_t> weights = {1, 2, 3, 4};
  auto balancer = makeBalancer("random", endpointsWeighted(weights));
  Random random(2);

  expectSharesFollowWeights(countPicks(*balancer, kPicks, contextAt(t0, &random)), weights);
}

// Skewed weights, including one endpoint far lighter than the rest.
TEST(WeightedRandomTest, SkewedSharesFollowWeights) {
  const std::vector<std::int64_t> weights = {100, 1, 30, 7, 62};
  auto balancer = makeBalancer("random", endpointsWeighted(weights));
  Random random(3);

  expectSharesFollowWeights(countPicks(*balancer, kPicks, contextAt(t0, &random)), weights);
}

// A reweight changes the shares from the next pick on.
TEST(WeightedRandomTest, ReweightChangesShares) {
  auto balancer = makeBalancer("random", endpointsWeighted({1, 1}));
  ASSERT_TRUE(balancer->setWeight("e1", 3).ok());
  Random random(4);

  expectSharesFollowWeights(countPicks(*balancer, kPicks, contextAt(t0, &random)), {1, 3});
}

// Unavailable endpoints get no picks; the others share by weight.
TEST(WeightedRandomTest, SkipsUnavailableEndpoints) {
  auto balancer = makeBalancer("random", endpointsWeighted({1, 5, 3}));
  ASSERT_TRUE(balancer->setAvailable("e1", false, t0).ok());
  Random random(5);

  const std::map<std::string, int> counts = countPicks(*balancer, kPicks, contextAt(t0, &random));

  EXPECT_EQ(counts.count("e1"), 0u);
  EXPECT_NEAR(counts.at("e0"), kPicks * 0.25, binomialBound(kPicks, 0.25));
  EXPECT_NEAR(counts.at("e2"), kPicks * 0.75, binomialBound(kPicks, 0.75));
}

// The same seed gives the same sequence; another seed a different one.
TEST(WeightedRandomTest, SameSeedSameSequence) {
  const auto endpoints = endpointsNamed({"a", "b", "c", "d"}, {1, 2, 3, 4});
  auto first = makeBalancer("random", endpoints);
  auto second = makeBalancer("random", endpoints);
  Random random1(42);
  Random random2(42);
  Random random3(43);

  const std::vector<std::string> sequence = pickIds(*first, 1000, contextAt(t0, &random1));

  EXPECT_EQ(pickIds(*second, 1000, contextAt(t0, &random2)), sequence);
  EXPECT_NE(pickIds(*second, 1000, contextAt(t0, &random3)), sequence);
}

// Without a caller's generator, the balancer's own, seeded by Config::seed, is deterministic too.
TEST(WeightedRandomTest, ConfigSeedMakesOwnGeneratorDeterministic) {
  Config config;
  config.algorithm = "random";
  config.endpoints = endpointsNamed({"a", "b", "c", "d"}, {1, 2, 3, 4});
  config.seed = 99;
  auto first = test::makeOrDie(config);
  auto second = test::makeOrDie(config);

  EXPECT_EQ(pickIds(*first, 1000), pickIds(*second, 1000));
}

}  // namespace
}  // namespace fairway::balancer
