#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using test::endpointsNamed;
using test::hold;
using test::makeBalancer;
using test::pickSequence;
using test::statusOf;
using test::t0;

// Leases held and never released: equal endpoints fill up in turn.
TEST(LeastConnectionsTest, HeldLeasesSpreadInTurn) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b", "c"}));

  std::string sequence;
  std::vector<Pick> leases;
  for (int i = 0; i < 9; ++i) {
    leases.push_back(hold(*balancer));
    sequence += leases.back().endpoint->id();
  }

  EXPECT_EQ(sequence, "abcabcabc");
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
}

// Ties go round-robin: picked and released at once, three equal endpoints take turns.
TEST(LeastConnectionsTest, TiesGoRoundRobin) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b", "c"}));

  EXPECT_EQ(pickSequence(*balancer, 9), "abcabcabc");
}

// With leases held, the next pick goes to the least-loaded endpoint.
TEST(LeastConnectionsTest, PicksTheLeastLoaded) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b", "c"}));
  std::vector<Pick> leases;
  for (int i = 0; i < 6; ++i) {
    leases.push_back(hold(*balancer));  // a b c a b c: two each
  }
  // Release both of b's leases: b has 0, a and c have 2.
  for (auto it = leases.begin(); it != leases.end();) {
    if (it->endpoint->id() == "b") {
      balancer->release(*it);
      it = leases.erase(it);
    } else {
      ++it;
    }
  }

  EXPECT_EQ(pickSequence(*balancer, 3), "bbb");  // released at once, b stays the least loaded
  leases.push_back(hold(*balancer));
  leases.push_back(hold(*balancer));
  EXPECT_EQ(leases[leases.size() - 2].endpoint->id(), "b");
  EXPECT_EQ(leases.back().endpoint->id(), "b");
  // b caught up with the others.
  EXPECT_EQ(statusOf(*balancer, "a").inFlight, 2);
  EXPECT_EQ(statusOf(*balancer, "b").inFlight, 2);
  EXPECT_EQ(statusOf(*balancer, "c").inFlight, 2);
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
}

// Releasing a lease makes that endpoint the preferred one for the next pick.
TEST(LeastConnectionsTest, ReleasedEndpointBecomesPreferred) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b", "c"}));
  const Pick a = hold(*balancer);
  const Pick b = hold(*balancer);
  const Pick c = hold(*balancer);

  balancer->release(c);
  const Pick next = hold(*balancer);
  EXPECT_EQ(next.endpoint->id(), "c");

  balancer->release(a);
  const Pick after = hold(*balancer);
  EXPECT_EQ(after.endpoint->id(), "a");

  for (const Pick& lease : {b, next, after}) {
    balancer->release(lease);
  }
}

// Weights 3:1 with leases held: in-flight stays at 3:1, within one request after every pick.
TEST(LeastConnectionsTest, WeightedInFlightFollowsWeights) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b"}, {3, 1}));

  std::vector<Pick> leases;
  for (int i = 1; i <= 400; ++i) {
    leases.push_back(hold(*balancer));
    const std::int64_t a = statusOf(*balancer, "a").inFlight;
    const std::int64_t b = statusOf(*balancer, "b").inFlight;
    ASSERT_EQ(a + b, i);
    ASSERT_NEAR(static_cast<double>(a), 0.75 * i, 1.0) << "after " << i << " picks";
  }
  EXPECT_EQ(statusOf(*balancer, "a").inFlight, 300);
  EXPECT_EQ(statusOf(*balancer, "b").inFlight, 100);
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
}

// In-flight counts from before a membership change still steer picks after it, and releasing
// those earlier leases lowers the load the new snapshot sees.
TEST(LeastConnectionsTest, LoadSurvivesMembershipChanges) {
  auto balancer = makeBalancer("least_connections", endpointsNamed({"a", "b"}));
  const Pick a1 = hold(*balancer);
  const Pick b1 = hold(*balancer);
  const Pick a2 = hold(*balancer);  // a: 2, b: 1

  ASSERT_TRUE(balancer->add({"c", "10.0.0.3:80", 1, true}, t0).ok());
  const Pick c1 = hold(*balancer);
  EXPECT_EQ(c1.endpoint->id(), "c");  // the empty newcomer first
  const Pick b2 = hold(*balancer);
  EXPECT_EQ(b2.endpoint->id(), "b");  // b and c hold 1 each; b's load changed longer ago

  balancer->release(a1);
  balancer->release(a2);
  EXPECT_EQ(pickSequence(*balancer, 2), "aa");  // a: 0, b: 2, c: 1
  for (const Pick& lease : {b1, c1, b2}) {
    balancer->release(lease);
  }
  EXPECT_EQ(statusOf(*balancer, "a").inFlight, 0);
  EXPECT_EQ(statusOf(*balancer, "b").inFlight, 0);
  EXPECT_EQ(statusOf(*balancer, "c").inFlight, 0);
}

}  // namespace
}  // namespace fairway::balancer
