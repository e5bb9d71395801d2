// p2c (alias least_request) and peak_ewma: the two-choice algorithms of power_of_two.cpp.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>
#include <fairway/balancer/random.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using namespace std::chrono_literals;
using test::binomialBound;
using test::contextAt;
using test::countPicks;
using test::endpointsNamed;
using test::hold;
using test::makeBalancer;
using test::makeOrDie;
using test::pickIds;
using test::statusOf;
using test::t0;

// Every test runs for both names of the algorithm.
class PowerOfTwoTest : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Names, PowerOfTwoTest, ::testing::Values("p2c", "least_request"));

// A single endpoint is always the one picked.
TEST_P(PowerOfTwoTest, SingleEndpointIsAlwaysPicked) {
  auto balancer = makeBalancer(GetParam(), endpointsNamed({"a"}));
  Random random(1);

  const std::map<std::string, int> counts = countPicks(*balancer, 1000, contextAt(t0, &random));

  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 1000}}));
}

// Of two equal endpoints, the one without a lease always wins.
TEST_P(PowerOfTwoTest, AvoidsTheBusyEndpoint) {
  auto balancer = makeBalancer(GetParam(), endpointsNamed({"a", "b"}));
  Random random(2);
  const Pick lease = hold(*balancer, contextAt(t0, &random));
  const std::string idle = lease.endpoint->id() == "a" ? "b" : "a";

  const std::map<std::string, int> counts = countPicks(*balancer, 1000, contextAt(t0, &random));

  EXPECT_EQ(counts, (std::map<std::string, int>{{idle, 1000}}));
  balancer->release(lease);
}

// Released at once, picks among equal endpoints are uniform: each share within five binomial
// deviations.
TEST_P(PowerOfTwoTest, UniformWithoutLoad) {
  auto balancer = makeBalancer(GetParam(), endpointsNamed({"a", "b", "c", "d"}));
  Random random(3);
  constexpr int kPicks = 100'000;

  const std::map<std::string, int> counts = countPicks(*balancer, kPicks, contextAt(t0, &random));

  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [id, count] : counts) {
    EXPECT_NEAR(count, kPicks * 0.25, binomialBound(kPicks, 0.25)) << id;
  }
}

// Leases held with weights 1:2:3: in-flight settles in proportion to weight, each endpoint within
// 2% of the total of its share at every checkpoint.
TEST_P(PowerOfTwoTest, HeldLeasesConvergeToWeights) {
  auto balancer = makeBalancer(GetParam(), endpointsNamed({"a", "b", "c"}, {1, 2, 3}));
  Random random(4);
  const std::map<std::string, double> share = {{"a", 1.0 / 6}, {"b", 2.0 / 6}, {"c", 3.0 / 6}};

  std::vector<Pick> leases;
  for (int i = 1; i <= 6000; ++i) {
    leases.push_back(hold(*balancer, contextAt(t0, &random)));
    if (i % 600 == 0) {
      for (const auto& [id, s] : share) {
        EXPECT_NEAR(static_cast<double>(statusOf(*balancer, id).inFlight), s * i, 0.02 * i)
            << id << " after " << i << " picks";
      }
    }
  }
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
  for (const auto& [id, s] : share) {
    EXPECT_EQ(statusOf(*balancer, id).inFlight, 0) << id;
  }
}

// The same seed gives the same sequence.
TEST_P(PowerOfTwoTest, SameSeedSameSequence) {
  const auto endpoints = endpointsNamed({"a", "b", "c", "d", "e"}, {1, 2, 3, 4, 5});
  auto first = makeBalancer(GetParam(), endpoints);
  auto second = makeBalancer(GetParam(), endpoints);
  Random random1(42);
  Random random2(42);

  EXPECT_EQ(pickIds(*first, 1000, contextAt(t0, &random1)),
            pickIds(*second, 1000, contextAt(t0, &random2)));
}

// peak_ewma

// Picks `n` times at `now`, releasing each at once with its endpoint's latency from `latency`;
// returns how many picks each endpoint got.
std::map<std::string, int> pickWithLatencies(
    Balancer& balancer, int n, TimePoint now, Random& random,
    const std::map<std::string, Clock::duration>& latency) {
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) {
    const std::optional<Pick> pick = balancer.pick(contextAt(now, &random));
    if (!pick) {
      ADD_FAILURE() << "nothing picked";
      return counts;
    }
    const std::string& id = pick->endpoint->id();
    ++counts[id];
    balancer.release(*pick, {.now = now, .latency = latency.at(id)});
  }
  return counts;
}

// Once latencies are known, the fast endpoint takes nearly every pick.
TEST(PeakEwmaTest, PrefersTheFasterEndpoint) {
  auto balancer = makeBalancer("peak_ewma", endpointsNamed({"a", "b"}));
  Random random(5);

  const std::map<std::string, int> counts =
      pickWithLatencies(*balancer, 1000, t0, random, {{"a", 1ms}, {"b", 50ms}});

  EXPECT_GT(counts.at("a"), 900);
  EXPECT_NEAR(statusOf(*balancer, "a").latencyEwmaMs, 1.0, 1e-9);
  EXPECT_NEAR(statusOf(*balancer, "b").latencyEwmaMs, 50.0, 1e-9);
}

// The slow endpoint catches up only when the fast one has about 50 times its requests in flight:
// cost is latency × (in-flight + 1).
TEST(PeakEwmaTest, InFlightScalesTheCost) {
  auto balancer = makeBalancer("peak_ewma", endpointsNamed({"a", "b"}));
  Random random(6);
  pickWithLatencies(*balancer, 10, t0, random, {{"a", 1ms}, {"b", 50ms}});

  std::vector<Pick> leases;
  for (int i = 0; i < 49; ++i) {
    leases.push_back(hold(*balancer, contextAt(t0, &random)));
  }
  EXPECT_EQ(statusOf(*balancer, "a").inFlight, 49);  // a's cost 1 × 50 ties b's 50 × 1 only now
  for (int i = 0; i < 150; ++i) {
    leases.push_back(hold(*balancer, contextAt(t0, &random)));
  }
  // b gets its n-th lease when a's cost reaches 50 n: at a = 49, 99 and 149.
  EXPECT_EQ(statusOf(*balancer, "a").inFlight, 196);
  EXPECT_EQ(statusOf(*balancer, "b").inFlight, 3);
  for (const Pick& lease : leases) {
    balancer->release(lease);
  }
}

// An endpoint that was slow long ago is tried again: read at a later instant, its EWMA has decayed
// towards zero.
TEST(PeakEwmaTest, OldSlownessIsForgotten) {
  auto balancer = makeBalancer("peak_ewma", endpointsNamed({"a", "b"}));
  Random random(7);
  const std::map<std::string, Clock::duration> latency = {{"a", 1ms}, {"b", 50ms}};
  pickWithLatencies(*balancer, 10, t0, random, latency);  // both observed at t0

  // A minute later both have decayed alike, so a still wins, and answers in 1 ms again.
  const TimePoint later = t0 + 60s;
  EXPECT_EQ(pickWithLatencies(*balancer, 1, later, random, latency),
            (std::map<std::string, int>{{"a", 1}}));
  EXPECT_NEAR(statusOf(*balancer, "b").latencyEwmaMs, 50.0, 1e-9);  // stored as last observed

  // b's 50 ms from six decay constants ago reads as 0.12 ms: cheaper than a's fresh 1 ms.
  EXPECT_EQ(pickWithLatencies(*balancer, 1, later, random, latency),
            (std::map<std::string, int>{{"b", 1}}));
}

// The EWMA jumps to a higher observation at once and decays towards a lower one with time
// constant ewma.decay.
TEST(PeakEwmaTest, EwmaTracksPeaksAndDecays) {
  Config config;
  config.algorithm = "peak_ewma";
  config.endpoints = endpointsNamed({"a"});
  config.ewma.decay = 10s;
  auto balancer = makeOrDie(config);
  Random random(8);
  const auto observe = [&](TimePoint now, Clock::duration latency) {
    balancer->release(hold(*balancer, contextAt(now, &random)), {.now = now, .latency = latency});
    return statusOf(*balancer, "a").latencyEwmaMs;
  };

  EXPECT_EQ(statusOf(*balancer, "a").latencyEwmaMs, 0.0);
  EXPECT_NEAR(observe(t0, 1ms), 1.0, 1e-9);
  EXPECT_NEAR(observe(t0 + 1s, 50ms), 50.0, 1e-9);  // the peak, immediately
  // One time constant later, a 1 ms observation: 50 e^-1 + 1 (1 - e^-1).
  EXPECT_NEAR(observe(t0 + 11s, 1ms), 50.0 * std::exp(-1.0) + 1.0 * (1.0 - std::exp(-1.0)), 1e-6);
  // Another 1 ms at the same instant does not move it: no time has passed.
  const double settled = statusOf(*balancer, "a").latencyEwmaMs;
  EXPECT_NEAR(observe(t0 + 11s, 1ms), settled, 1e-9);
  // A higher one jumps again.
  EXPECT_NEAR(observe(t0 + 12s, 30ms), 30.0, 1e-9);
}

}  // namespace
}  // namespace fairway::balancer
