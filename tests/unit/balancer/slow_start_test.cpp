// Slow start, applied by Balancer around every weighted algorithm (here weighted_round_robin).

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using namespace std::chrono_literals;
using test::contextAt;
using test::countPicks;
using test::endpointsNamed;
using test::makeOrDie;
using test::pickId;
using test::statusOf;
using test::t0;

// A 10 s linear ramp from 10% in 20 steps; a and b, from the configuration, start at full weight.
Config rampConfig(double aggression = 1.0) {
  Config config;
  config.algorithm = "weighted_round_robin";
  config.endpoints = endpointsNamed({"a", "b"}, {100, 100});
  config.slowStart.window = 10s;
  config.slowStart.aggression = aggression;
  config.slowStart.minWeightPercent = 10;
  config.slowStart.steps = 20;
  return config;
}

const EndpointConfig kNewcomer{"c", "10.0.0.3:80", 100, true};

// Endpoints from the configuration do not slow-start.
TEST(SlowStartTest, ConfiguredEndpointsStartAtFullWeight) {
  auto balancer = makeOrDie(rampConfig());

  for (const char* id : {"a", "b"}) {
    EXPECT_EQ(statusOf(*balancer, id).effectiveWeight, 100.0) << id;
    EXPECT_FALSE(statusOf(*balancer, id).rampingUp) << id;
  }
}

// An added endpoint starts at the 10% floor, ramps linearly and reaches full weight at the end of
// the window.
TEST(SlowStartTest, AddedEndpointRampsLinearly) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 10.0);
  EXPECT_TRUE(statusOf(*balancer, "c").rampingUp);

  balancer->refresh(t0 + 500ms);  // 5% of the window: still the floor
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 10.0);

  balancer->refresh(t0 + 2500ms);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 25.0);

  balancer->refresh(t0 + 5s);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 50.0);
  EXPECT_TRUE(statusOf(*balancer, "c").rampingUp);

  balancer->refresh(t0 + 10s);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);
  EXPECT_FALSE(statusOf(*balancer, "c").rampingUp);

  // The others were never touched.
  EXPECT_EQ(statusOf(*balancer, "a").effectiveWeight, 100.0);
  EXPECT_EQ(statusOf(*balancer, "b").effectiveWeight, 100.0);
}

// Aggression 2 ramps as (t / window)^(1/2): at a quarter of the window, half the weight.
TEST(SlowStartTest, AggressionShapesTheRamp) {
  auto balancer = makeOrDie(rampConfig(2.0));
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  balancer->refresh(t0 + 2500ms);
  EXPECT_NEAR(statusOf(*balancer, "c").effectiveWeight, 50.0, 1e-9);

  balancer->refresh(t0 + 8100ms);  // sqrt(0.81) = 0.9
  EXPECT_NEAR(statusOf(*balancer, "c").effectiveWeight, 90.0, 1e-9);
}

// Becoming available again restarts the ramp from that instant.
TEST(SlowStartTest, ComingBackRestartsTheRamp) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());
  balancer->refresh(t0 + 10s);
  ASSERT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);

  ASSERT_TRUE(balancer->setAvailable("c", false, t0 + 20s).ok());
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 0.0);  // not a candidate
  EXPECT_FALSE(statusOf(*balancer, "c").rampingUp);

  const TimePoint t1 = t0 + 30s;
  ASSERT_TRUE(balancer->setAvailable("c", true, t1).ok());
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 10.0);
  EXPECT_TRUE(statusOf(*balancer, "c").rampingUp);

  balancer->refresh(t1 + 5s);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 50.0);
  balancer->refresh(t1 + 10s);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);
  EXPECT_FALSE(statusOf(*balancer, "c").rampingUp);
}

// A configured endpoint that starts unavailable slow-starts when it becomes available.
TEST(SlowStartTest, ConfiguredUnavailableEndpointRampsWhenItComesUp) {
  Config config = rampConfig();
  config.endpoints.push_back({"c", "10.0.0.3:80", 100, false});
  auto balancer = makeOrDie(config);

  ASSERT_TRUE(balancer->setAvailable("c", true, t0).ok());
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 10.0);
  balancer->refresh(t0 + 5s);
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 50.0);
}

// pick() recomputes weights itself once a step boundary (every window / steps = 500 ms) has passed.
TEST(SlowStartTest, PicksRecomputeWeightsAtStepBoundaries) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  ASSERT_NE(pickId(*balancer, contextAt(t0 + 5s)), "-");
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 50.0);

  ASSERT_NE(pickId(*balancer, contextAt(t0 + 5200ms)), "-");  // before the next step at 5.5 s
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 50.0);

  ASSERT_NE(pickId(*balancer, contextAt(t0 + 5500ms)), "-");
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 55.0);

  ASSERT_NE(pickId(*balancer, contextAt(t0 + 12s)), "-");
  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);
  EXPECT_FALSE(statusOf(*balancer, "c").rampingUp);
}

// Early in its ramp the newcomer gets its reduced share (10 of 210), far below a third.
TEST(SlowStartTest, RampingEndpointGetsAReducedShare) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  const std::map<std::string, int> counts = countPicks(*balancer, 1000, contextAt(t0 + 1s));

  EXPECT_LT(counts.at("c"), 1000 / 6);
  EXPECT_NEAR(counts.at("c"), 1000.0 * 10 / 210, 1.0);
  EXPECT_NEAR(counts.at("a"), 1000.0 * 100 / 210, 1.0);
  EXPECT_NEAR(counts.at("b"), 1000.0 * 100 / 210, 1.0);
}

// Once the ramp is over the newcomer gets a full third.
TEST(SlowStartTest, RampedEndpointGetsAFullShare) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  const std::map<std::string, int> counts = countPicks(*balancer, 3000, contextAt(t0 + 10s));

  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 1000}, {"b", 1000}, {"c", 1000}}));
}

// A reweight during the ramp scales the ramped weight.
TEST(SlowStartTest, ReweightDuringRampKeepsRamping) {
  auto balancer = makeOrDie(rampConfig());
  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());
  balancer->refresh(t0 + 5s);

  ASSERT_TRUE(balancer->setWeight("c", 200).ok());

  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);
  EXPECT_TRUE(statusOf(*balancer, "c").rampingUp);
}

// With a zero window (the default) an added endpoint joins at full weight.
TEST(SlowStartTest, ZeroWindowDisablesSlowStart) {
  Config config = rampConfig();
  config.slowStart.window = 0s;
  auto balancer = makeOrDie(config);

  ASSERT_TRUE(balancer->add(kNewcomer, t0).ok());

  EXPECT_EQ(statusOf(*balancer, "c").effectiveWeight, 100.0);
  EXPECT_FALSE(statusOf(*balancer, "c").rampingUp);
}

}  // namespace
}  // namespace fairway::balancer
