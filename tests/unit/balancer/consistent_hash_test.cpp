#include <algorithm>
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

using test::contextAt;
using test::countPicks;
using test::endpointsWeighted;
using test::hold;
using test::makeBalancer;
using test::makeOrDie;
using test::pickId;
using test::t0;

constexpr int kKeys = 100'000;

// Where each of kKeys keys ("key-0", "key-1", ...) goes, each pick released at once.
std::vector<std::string> mapKeys(Balancer& balancer) {
  std::vector<std::string> owners;
  owners.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    owners.push_back(pickId(balancer, {.now = t0, .hash = hashKey("key-" + std::to_string(i))}));
  }
  return owners;
}

std::unique_ptr<Balancer> tenEqualEndpoints() {
  return makeBalancer("consistent_hash", endpointsWeighted(std::vector<std::int64_t>(10, 1)));
}

// A key always maps to the same endpoint, whatever generator the pick brings.
TEST(ConsistentHashTest, SameKeySameEndpoint) {
  auto balancer = tenEqualEndpoints();
  const std::uint64_t key = hashKey("user-42");
  Random random(1);
  const std::string home = pickId(*balancer, {.now = t0, .hash = key, .random = &random});
  ASSERT_NE(home, "-");

  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(pickId(*balancer, {.now = t0, .hash = key, .random = &random}), home);
  }
  // A balancer built from the same configuration agrees.
  auto twin = tenEqualEndpoints();
  EXPECT_EQ(pickId(*twin, {.now = t0, .hash = key}), home);
}

// With the default 160 points, ten equal endpoints each get within 30% of a tenth of the keys.
TEST(ConsistentHashTest, KeysSpreadEvenly) {
  auto balancer = tenEqualEndpoints();

  std::map<std::string, int> counts;
  for (const std::string& owner : mapKeys(*balancer)) {
    ++counts[owner];
  }

  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [id, count] : counts) {
    EXPECT_NEAR(count, kKeys / 10, 0.3 * kKeys / 10) << id;
  }
}

// Adding an 11th endpoint moves about 1/11 of the keys, all of them to the newcomer; removing it
// again puts every key back where it was.
TEST(ConsistentHashTest, AddingAnEndpointMovesOnlyKeysToIt) {
  auto balancer = tenEqualEndpoints();
  const std::vector<std::string> before = mapKeys(*balancer);

  ASSERT_TRUE(balancer->add({"e10", "10.0.0.11:80", 1, true}, t0).ok());
  const std::vector<std::string> after = mapKeys(*balancer);

  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (after[i] != before[i]) {
      ++moved;
      ASSERT_EQ(after[i], "e10") << "key-" << i << " moved from " << before[i];
    }
  }
  EXPECT_LE(moved, 1.5 * kKeys / 11);
  EXPECT_GE(moved, 0.5 * kKeys / 11);

  ASSERT_TRUE(balancer->remove("e10").ok());
  EXPECT_EQ(mapKeys(*balancer), before);
}

// An unavailable endpoint's keys go elsewhere and no other key moves; when it returns, so do its
// keys.
TEST(ConsistentHashTest, UnavailableEndpointMovesOnlyItsKeys) {
  auto balancer = tenEqualEndpoints();
  const std::vector<std::string> before = mapKeys(*balancer);

  ASSERT_TRUE(balancer->setAvailable("e3", false, t0).ok());
  const std::vector<std::string> during = mapKeys(*balancer);

  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] == "e3") {
      ++moved;
      ASSERT_NE(during[i], "e3") << "key-" << i;
    } else {
      ASSERT_EQ(during[i], before[i]) << "key-" << i;
    }
  }
  EXPECT_GT(moved, 0);

  ASSERT_TRUE(balancer->setAvailable("e3", true, t0).ok());
  EXPECT_EQ(mapKeys(*balancer), before);
}

// A heavier endpoint owns more of the ring: weight 4 among weight-1 peers takes about 4/13 of keys.
TEST(ConsistentHashTest, RingPointsFollowWeight) {
  auto balancer =
      makeBalancer("consistent_hash", endpointsWeighted({4, 1, 1, 1, 1, 1, 1, 1, 1, 1}));

  const std::vector<std::string> owners = mapKeys(*balancer);
  const auto heavy = std::count(owners.begin(), owners.end(), "e0");

  EXPECT_NEAR(static_cast<double>(heavy), kKeys * 4.0 / 13, 0.3 * kKeys * 4.0 / 13);
}

// Without a key, picks land anywhere on the ring: every endpoint gets some.
TEST(ConsistentHashTest, NoKeyPicksAtRandom) {
  auto balancer = tenEqualEndpoints();
  Random random(2);

  const std::map<std::string, int> counts = countPicks(*balancer, 10'000, contextAt(t0, &random));

  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [id, count] : counts) {
    EXPECT_GT(count, 500) << id;
  }
}

// Bounded load (balance factor 1.25): one hot key held 1000 times spills over so that no endpoint
// ever holds more than ceil(1.25 × total / 10) leases; once they end, the key goes home again.
TEST(ConsistentHashTest, BoundedLoadCapsEveryEndpoint) {
  Config config;
  config.algorithm = "consistent_hash";
  config.endpoints = endpointsWeighted(std::vector<std::int64_t>(10, 1));
  config.hash.balanceFactor = 1.25;
  auto balancer = makeOrDie(config);
  const PickContext hot{.now = t0, .hash = hashKey("user-42")};
  const std::string home = pickId(*balancer, hot);

  std::vector<Pick> leases;
  for (std::int64_t held = 1; held <= 1000; ++held) {
    leases.push_back(hold(*balancer, hot));
    const std::int64_t bound = (125 * held + 999) / 1000;  // ceil(1.25 × held / 10)
    std::int64_t total = 0;
    for (const EndpointStatus& status : balancer->endpoints()) {
      ASSERT_LE(status.inFlight, bound) << status.id << " with " << held << " leases held";
      total += status.inFlight;
    }
    ASSERT_EQ(total, held);
  }
  EXPECT_EQ(leases.front().endpoint->id(), home);  // the first lease still went home

  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
  EXPECT_EQ(pickId(*balancer, hot), home);
}

// Without bounded load, the hot key piles onto its home endpoint.
TEST(ConsistentHashTest, UnboundedLoadKeepsAffinity) {
  auto balancer = tenEqualEndpoints();
  const PickContext hot{.now = t0, .hash = hashKey("user-42")};

  std::vector<Pick> leases;
  for (int i = 0; i < 100; ++i) {
    leases.push_back(hold(*balancer, hot));
  }

  EXPECT_EQ(test::statusOf(*balancer, leases.front().endpoint->id()).inFlight, 100);
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
}

}  // namespace
}  // namespace fairway::balancer
