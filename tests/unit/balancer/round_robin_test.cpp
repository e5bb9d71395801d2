#include <map>
#include <string>

#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using test::countPicks;
using test::endpointsNamed;
using test::makeBalancer;
using test::pickSequence;
using test::t0;

// Each endpoint in turn, in insertion order, over and over.
TEST(RoundRobinTest, PicksInCyclicOrder) {
  auto balancer = makeBalancer("round_robin", endpointsNamed({"a", "b", "c"}));

  EXPECT_EQ(pickSequence(*balancer, 9), "abcabcabc");
}

// Weights do not matter to round_robin.
TEST(RoundRobinTest, IgnoresWeights) {
  auto balancer = makeBalancer("round_robin", endpointsNamed({"a", "b", "c"}, {5, 1, 1}));

  EXPECT_EQ(pickSequence(*balancer, 6), "abcabc");
}

// An unavailable endpoint drops out of the cycle, and rejoins it when available again.
TEST(RoundRobinTest, SkipsUnavailableEndpoints) {
  auto balancer = makeBalancer("round_robin", endpointsNamed({"a", "b", "c"}));
  ASSERT_TRUE(balancer->setAvailable("b", false, t0).ok());

  EXPECT_EQ(pickSequence(*balancer, 6), "acacac");

  ASSERT_TRUE(balancer->setAvailable("b", true, t0).ok());
  EXPECT_EQ(pickSequence(*balancer, 6), "abcabc");
}

// An endpoint configured unavailable is never picked.
TEST(RoundRobinTest, SkipsEndpointsConfiguredUnavailable) {
  auto endpoints = endpointsNamed({"a", "b", "c"});
  endpoints[0].available = false;
  auto balancer = makeBalancer("round_robin", endpoints);

  EXPECT_EQ(pickSequence(*balancer, 4), "bcbc");
}

// After a membership change the cycle goes on from where it was instead of going back to the
// first endpoint.
TEST(RoundRobinTest, PositionCarriesOverMembershipChanges) {
  auto balancer = makeBalancer("round_robin", endpointsNamed({"a", "b", "c"}));
  EXPECT_EQ(pickSequence(*balancer, 2), "ab");

  ASSERT_TRUE(balancer->add({"d", "10.0.0.4:80", 1, true}, t0).ok());

  EXPECT_EQ(pickSequence(*balancer, 8), "cdabcdab");
}

// Over 100k picks each of four endpoints gets exactly a quarter.
TEST(RoundRobinTest, SplitsPicksExactlyEvenly) {
  auto balancer = makeBalancer("round_robin", endpointsNamed({"a", "b", "c", "d"}));

  const std::map<std::string, int> counts = countPicks(*balancer, 100'000);

  EXPECT_EQ(counts, (std::map<std::string, int>{
                        {"a", 25'000}, {"b", 25'000}, {"c", 25'000}, {"d", 25'000}}));
}

}  // namespace
}  // namespace fairway::balancer
