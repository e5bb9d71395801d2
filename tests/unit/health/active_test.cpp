// Active checking: HAProxy's rise/fall state machine, per endpoint (ActiveCheck) and through
// HealthChecker.

#include <string>

#include <gtest/gtest.h>

#include <fairway/health/active_check.hpp>
#include <fairway/health/health_checker.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::failed;
using test::passed;
using test::t0;

HealthCheckConfig riseFall(int rise, int fall, InitialState initial = InitialState::kFullyUp) {
  HealthCheckConfig config;
  config.rise = rise;
  config.fall = fall;
  config.interval = 2s;
  config.initialState = initial;
  return config;
}

// Feeds `results` ('o' passed, 'x' failed) one per 2 s and spells the state after each: "UUD".
std::string statesAfter(ActiveCheck& check, const std::string& results) {
  std::string states;
  TimePoint now = t0;
  for (const char r : results) {
    now += 2s;
    check.recordProbe(r == 'o' ? passed() : failed(), now);
    states += check.up() ? 'U' : 'D';
  }
  return states;
}

// fall 3: an up endpoint survives two failed probes and goes down on the third.
TEST(ActiveTest, GoesDownAfterFallFailuresInARow) {
  auto checker = test::makeChecker(riseFall(2, 3));
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());

  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 2s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kUp);
  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 4s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kUp);
  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 6s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kDown);
}

// rise 2: a down endpoint stays down after one successful probe and comes up on the second.
TEST(ActiveTest, ComesUpAfterRiseSuccessesInARow) {
  auto checker = test::makeChecker(riseFall(2, 3, InitialState::kFullyDown));
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_EQ(checker->state("a"), HealthState::kDown);

  EXPECT_TRUE(checker->recordProbe("a", passed(), t0 + 2s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kDown);
  EXPECT_TRUE(checker->recordProbe("a", passed(), t0 + 4s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kUp);
}

// A success between failures starts the count towards down over.
TEST(ActiveTest, SuccessResetsTheFailureCount) {
  ActiveCheck check(riseFall(2, 3), InitialState::kFullyUp, t0, 1);

  EXPECT_EQ(statesAfter(check, "xxoxxoxxx"), "UUUUUUUUD");
}

// A failure between successes starts the count towards up over.
TEST(ActiveTest, FailureResetsTheSuccessCount) {
  ActiveCheck check(riseFall(3, 3), InitialState::kFullyDown, t0, 1);

  EXPECT_EQ(statesAfter(check, "ooxooxooo"), "DDDDDDDDU");
}

// Full cycle: down after fall, up after rise, down again after fall.
TEST(ActiveTest, CyclesBetweenUpAndDown) {
  ActiveCheck check(riseFall(2, 3), InitialState::kFullyUp, t0, 1);

  EXPECT_EQ(statesAfter(check, "xxxooxxx"), "UUDDUUUD");
}

// rise 1 and fall 1: every disagreeing result flips the state.
TEST(ActiveTest, RiseAndFallOfOneFlipAtOnce) {
  ActiveCheck check(riseFall(1, 1), InitialState::kFullyUp, t0, 1);

  EXPECT_EQ(statesAfter(check, "xoxxoo"), "DUDDUU");
}

// recordProbe reports the transition it made, and only then.
TEST(ActiveTest, RecordProbeReturnsTheTransition) {
  ActiveCheck check(riseFall(2, 2), InitialState::kFullyUp, t0, 1);

  EXPECT_EQ(check.recordProbe(failed(), t0 + 2s), std::nullopt);
  EXPECT_EQ(check.recordProbe(failed(), t0 + 4s),
            (Transition{HealthState::kUp, HealthState::kDown, Reason::kProbesFailed}));
  EXPECT_EQ(check.recordProbe(passed(), t0 + 6s), std::nullopt);
  EXPECT_EQ(check.recordProbe(passed(), t0 + 8s),
            (Transition{HealthState::kDown, HealthState::kUp, Reason::kProbesPassed}));
}

// remaining() counts down the results still needed to change state.
TEST(ActiveTest, RemainingCountsDown) {
  ActiveCheck check(riseFall(2, 3), InitialState::kFullyUp, t0, 1);
  EXPECT_EQ(check.remaining(), 3);
  EXPECT_FALSE(check.transitioning());

  check.recordProbe(failed(), t0 + 2s);
  EXPECT_EQ(check.remaining(), 2);
  EXPECT_TRUE(check.transitioning());

  check.recordProbe(failed(), t0 + 4s);
  check.recordProbe(failed(), t0 + 6s);
  EXPECT_EQ(check.remaining(), 2);  // now down: rise 2 to go
  EXPECT_FALSE(check.transitioning());
}

// HAProxy's default init-state `up`: available at once, but the first failed probe takes the
// endpoint down; after one success it needs the full `fall`.
TEST(ActiveTest, InitialUpFallsOnTheFirstFailure) {
  ActiveCheck failing(riseFall(2, 3, InitialState::kUp), InitialState::kUp, t0, 1);
  EXPECT_TRUE(failing.up());
  EXPECT_EQ(statesAfter(failing, "x"), "D");

  ActiveCheck healthy(riseFall(2, 3, InitialState::kUp), InitialState::kUp, t0, 1);
  EXPECT_EQ(statesAfter(healthy, "oxxx"), "UUUD");
}

// init-state `fully-up` needs `fall` failures from the start.
TEST(ActiveTest, InitialFullyUpNeedsFallFailures) {
  ActiveCheck check(riseFall(2, 3), InitialState::kFullyUp, t0, 1);

  EXPECT_EQ(statesAfter(check, "xxx"), "UUD");
}

// init-state `down`: unavailable until the first successful probe, which brings it up.
TEST(ActiveTest, InitialDownRisesOnTheFirstSuccess) {
  ActiveCheck check(riseFall(3, 3), InitialState::kDown, t0, 1);
  EXPECT_FALSE(check.up());

  EXPECT_EQ(statesAfter(check, "o"), "U");
}

// init-state `fully-down` needs `rise` successes from the start.
TEST(ActiveTest, InitialFullyDownNeedsRiseSuccesses) {
  ActiveCheck check(riseFall(3, 3), InitialState::kFullyDown, t0, 1);

  EXPECT_EQ(statesAfter(check, "ooo"), "DDU");
}

// The default configuration: HAProxy's rise 2, fall 3 and init-state `up`.
TEST(ActiveTest, DefaultsAreHaproxys) {
  const HealthCheckConfig config;
  EXPECT_EQ(config.rise, 2);
  EXPECT_EQ(config.fall, 3);
  EXPECT_EQ(config.initialState, InitialState::kUp);

  auto checker = test::makeChecker(config);
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kUp);
  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 1s).ok());
  EXPECT_EQ(checker->state("a"), HealthState::kDown);
}

// add() can override the configured initial state, e.g. for an endpoint discovered at run time
// that must prove itself first.
TEST(ActiveTest, AddOverridesInitialState) {
  auto checker = test::makeChecker(riseFall(2, 3, InitialState::kUp));
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->add("b", "10.0.0.2:80", t0, InitialState::kFullyDown).ok());

  EXPECT_EQ(checker->state("a"), HealthState::kUp);
  EXPECT_EQ(checker->state("b"), HealthState::kDown);
}

// Each endpoint has its own state machine.
TEST(ActiveTest, EndpointsAreIndependent) {
  auto checker = test::makeChecker(riseFall(2, 2));
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->add("b", "10.0.0.2:80", t0).ok());

  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 2s).ok());
  EXPECT_TRUE(checker->recordProbe("b", passed(), t0 + 2s).ok());
  EXPECT_TRUE(checker->recordProbe("a", failed(), t0 + 4s).ok());
  EXPECT_TRUE(checker->recordProbe("b", failed(), t0 + 4s).ok());

  EXPECT_EQ(checker->state("a"), HealthState::kDown);
  EXPECT_EQ(checker->state("b"), HealthState::kUp);
}

// The status shows the state, what remains, the last result and when the state last changed.
TEST(ActiveTest, StatusReportsLastResultAndChange) {
  auto checker = test::makeChecker(riseFall(2, 2));
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->recordProbe("a", failed("connection refused"), t0 + 2s).ok());
  ASSERT_TRUE(checker->recordProbe("a", failed("connection refused"), t0 + 4s).ok());
  ASSERT_TRUE(checker->recordProbe("a", passed(204), t0 + 6s).ok());

  const std::optional<EndpointHealth> status = checker->endpoint("a");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->id, "a");
  EXPECT_EQ(status->address, "10.0.0.1:80");
  EXPECT_EQ(status->state, HealthState::kDown);
  EXPECT_EQ(status->remaining, 1);
  EXPECT_TRUE(status->transitioning);
  EXPECT_EQ(status->lastChange, t0 + 4s);
  ASSERT_TRUE(status->lastResult.has_value());
  EXPECT_TRUE(status->lastResult->success);
  EXPECT_EQ(status->lastResult->statusCode, 204);
}

// A result for an unknown endpoint is refused with kNotFound and a message naming it.
TEST(ActiveTest, RecordProbeForUnknownEndpointIsNotFound) {
  auto checker = test::makeChecker(riseFall(2, 3));

  const Status s = checker->recordProbe("ghost", passed(), t0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "no endpoint with id 'ghost'");
  EXPECT_EQ(checker->state("ghost"), std::nullopt);
}

}  // namespace
}  // namespace fairway::health
