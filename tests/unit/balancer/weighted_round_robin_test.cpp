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

using test::countPicks;
using test::endpointsNamed;
using test::endpointsWeighted;
using test::makeBalancer;
using test::pickIds;
using test::pickSequence;
using test::t0;

// nginx's ngx_http_upstream_get_peer, literally: every peer's current value grows by its weight,
// the largest (the first on ties) is chosen and drops by the total.
class NginxSmoothWeighted {
 public:
  explicit NginxSmoothWeighted(std::vector<std::int64_t> weights)
      : weights_(std::move(weights)), current_(weights_.size(), 0) {
    for (const std::int64_t w : weights_) {
      total_ += w;
    }
  }

  std::size_t pick() {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      current_[i] += weights_[i];
      if (current_[i] > current_[best]) {
        best = i;
      }
    }
    current_[best] -= total_;
    return best;
  }

 private:
  std::vector<std::int64_t> weights_;
  std::vector<std::int64_t> current_;
  std::int64_t total_ = 0;
};

// The ids ("e<i>") of nginx's first `n` picks for `weights`.
std::vector<std::string> nginxSequence(const std::vector<std::int64_t>& weights, int n) {
  NginxSmoothWeighted reference(weights);
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back("e" + std::to_string(reference.pick()));
  }
  return ids;
}

// Weights 5:1:1 give nginx's smooth sequence a a b a c a a, period after period.
TEST(WeightedRoundRobinTest, FiveOneOneIsSmooth) {
  auto balancer = makeBalancer("weighted_round_robin", endpointsNamed({"a", "b", "c"}, {5, 1, 1}));

  EXPECT_EQ(pickSequence(*balancer, 21),
            "aabacaa"
            "aabacaa"
            "aabacaa");
}

// Equal weights degrade to plain round robin.
TEST(WeightedRoundRobinTest, EqualWeightsGoInTurn) {
  auto balancer = makeBalancer("weighted_round_robin", endpointsNamed({"a", "b", "c"}, {4, 4, 4}));

  EXPECT_EQ(pickSequence(*balancer, 9), "abcabcabc");
}

// The sequence is nginx's, pick for pick, for assorted weight vectors.
TEST(WeightedRoundRobinTest, MatchesNginxReference) {
  const std::vector<std::vector<std::int64_t>> cases = {
      {1, 2, 3}, {3, 3, 1, 1, 7}, {10, 1, 1, 1, 10}, {2, 1, 2, 1, 2}, {1000, 1}, {7}};
  constexpr int kPicks = 10'000;
  for (const auto& weights : cases) {
    auto balancer = makeBalancer("weighted_round_robin", endpointsWeighted(weights));

    EXPECT_EQ(pickIds(*balancer, kPicks), nginxSequence(weights, kPicks))
        << "weights " << ::testing::PrintToString(weights);
  }
}

// Also for 50 endpoints with random weights in 1..20 (many equal-weight classes).
TEST(WeightedRoundRobinTest, MatchesNginxReferenceForManyRandomWeights) {
  Random random(7);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<std::int64_t> weights;
    for (int i = 0; i < 50; ++i) {
      weights.push_back(1 + static_cast<std::int64_t>(random.below(20)));
    }
    constexpr int kPicks = 10'000;
    auto balancer = makeBalancer("weighted_round_robin", endpointsWeighted(weights));

    EXPECT_EQ(pickIds(*balancer, kPicks), nginxSequence(weights, kPicks))
        << "weights " << ::testing::PrintToString(weights);
  }
}

// Over whole periods (sum of weights) each endpoint gets exactly its weight's share.
TEST(WeightedRoundRobinTest, SharesAreExactOverWholePeriods) {
  auto balancer =
      makeBalancer("weighted_round_robin", endpointsNamed({"a", "b", "c", "d"}, {1, 4, 5, 10}));

  const std::map<std::string, int> counts = countPicks(*balancer, 100'000);

  EXPECT_EQ(counts, (std::map<std::string, int>{
                        {"a", 5'000}, {"b", 20'000}, {"c", 25'000}, {"d", 50'000}}));
}

// A reweight takes effect on the next pick, with the sequence starting over as nginx's does.
TEST(WeightedRoundRobinTest, ReweightRestartsTheSequence) {
  auto balancer = makeBalancer("weighted_round_robin", endpointsNamed({"a", "b", "c"}, {1, 1, 1}));
  EXPECT_EQ(pickSequence(*balancer, 2), "ab");

  ASSERT_TRUE(balancer->setWeight("a", 5).ok());

  EXPECT_EQ(pickSequence(*balancer, 14),
            "aabacaa"
            "aabacaa");
}

// Unavailable endpoints are left out; the rest keep their weighted sequence.
TEST(WeightedRoundRobinTest, SkipsUnavailableEndpoints) {
  auto balancer =
      makeBalancer("weighted_round_robin", endpointsNamed({"a", "x", "b", "c"}, {5, 9, 1, 1}));
  ASSERT_TRUE(balancer->setAvailable("x", false, t0).ok());

  EXPECT_EQ(pickSequence(*balancer, 14),
            "aabacaa"
            "aabacaa");
}

}  // namespace
}  // namespace fairway::balancer
