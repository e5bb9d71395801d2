// Outlier detection on consecutive errors: 5xx streaks, gateway-failure streaks, what counts as
// which, outcomes while ejected, and un-ejection when the ejection time has passed.

#include <gtest/gtest.h>

#include <fairway/health/outlier_detector.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::record;
using test::t0;

OutlierConfig consecutive(int errors, int gatewayFailures = 0) {
  OutlierConfig config;
  config.consecutive5xx = errors;
  config.consecutiveGatewayFailure = gatewayFailures;
  config.maxEjectionPercent = 100;
  config.baseEjectionTime = 30s;
  return config;
}

const Outcome k200 = Outcome::response(200);
const Outcome k404 = Outcome::response(404);
const Outcome k500 = Outcome::response(500);
const Outcome k503 = Outcome::response(503);

// consecutive_5xx 5: four 5xx in a row leave the endpoint in; the fifth ejects it, at once.
TEST(OutlierTest, EjectsOnConsecutive5xx) {
  auto detector = test::makeDetector(consecutive(5), 2);
  auto events = test::observe(*detector);

  record(*detector, "e0", k500, 4, t0);
  EXPECT_FALSE(detector->isEjected("e0"));

  detector->recordOutcome("e0", k500, t0 + 1s);
  EXPECT_TRUE(detector->isEjected("e0"));
  EXPECT_FALSE(detector->isEjected("e1"));
  EXPECT_EQ(events->events(),
            (std::vector<HealthEvent>{{"e0", HealthState::kUp, HealthState::kEjected,
                                       Reason::kConsecutive5xx, t0 + 1s}}));
}

// A success in the middle of a streak starts it over; 4xx responses are successes here.
TEST(OutlierTest, SuccessResetsThe5xxStreak) {
  auto detector = test::makeDetector(consecutive(3), 1);

  record(*detector, "e0", k500, 2, t0);
  detector->recordOutcome("e0", k200, t0 + 1s);
  record(*detector, "e0", k500, 2, t0 + 2s);
  detector->recordOutcome("e0", k404, t0 + 3s);
  record(*detector, "e0", k503, 2, t0 + 4s);
  EXPECT_FALSE(detector->isEjected("e0"));

  detector->recordOutcome("e0", k500, t0 + 5s);
  EXPECT_TRUE(detector->isEjected("e0"));
}

// Connect failures, timeouts and resets count as 5xx (Envoy's non-split mode).
TEST(OutlierTest, LocalOriginFailuresCountAs5xx) {
  auto detector = test::makeDetector(consecutive(3), 1);

  detector->recordOutcome("e0", Outcome::connectFailure(), t0);
  detector->recordOutcome("e0", Outcome::timeout(), t0 + 1s);
  EXPECT_FALSE(detector->isEjected("e0"));
  detector->recordOutcome("e0", Outcome::reset(), t0 + 2s);
  EXPECT_TRUE(detector->isEjected("e0"));
}

// consecutive_gateway_failure 3: 502, 503, 504 and connect failures in a row eject, before the
// 5xx threshold of 5 is reached, and the event names the gateway reason.
TEST(OutlierTest, EjectsOnConsecutiveGatewayFailures) {
  auto detector = test::makeDetector(consecutive(5, 3), 1);
  auto events = test::observe(*detector);

  detector->recordOutcome("e0", Outcome::response(502), t0);
  detector->recordOutcome("e0", Outcome::connectFailure(), t0 + 1s);
  EXPECT_FALSE(detector->isEjected("e0"));
  detector->recordOutcome("e0", Outcome::response(504), t0 + 2s);

  EXPECT_TRUE(detector->isEjected("e0"));
  ASSERT_EQ(events->events().size(), 1u);
  EXPECT_EQ(events->events()[0].reason, Reason::kConsecutiveGatewayFailure);
}

// A 5xx that is not a gateway failure (500) ends a gateway streak but extends the 5xx streak.
TEST(OutlierTest, Plain5xxEndsGatewayStreakButNot5xxStreak) {
  auto detector = test::makeDetector(consecutive(5, 3), 1);
  auto events = test::observe(*detector);

  record(*detector, "e0", k503, 2, t0);
  detector->recordOutcome("e0", k500, t0 + 1s);
  EXPECT_EQ(detector->endpoint("e0")->consecutiveGatewayFailures, 0);
  EXPECT_EQ(detector->endpoint("e0")->consecutive5xx, 3);
  record(*detector, "e0", k503, 2, t0 + 2s);  // gateway streak 2, 5xx streak 5

  EXPECT_TRUE(detector->isEjected("e0"));
  ASSERT_EQ(events->events().size(), 1u);
  EXPECT_EQ(events->events()[0].reason, Reason::kConsecutive5xx);
}

// A threshold of 0 turns that detector off.
TEST(OutlierTest, ZeroThresholdDisablesDetection) {
  auto detector = test::makeDetector(consecutive(0, 0), 1);

  record(*detector, "e0", k503, 1000, t0);

  EXPECT_FALSE(detector->isEjected("e0"));
}

// The ejection lasts base_ejection_time: still ejected just before, back just after, with an
// event; nextUpdateAt() says when.
TEST(OutlierTest, UnejectsWhenEjectionTimeHasPassed) {
  auto detector = test::makeDetector(consecutive(2), 2);
  auto events = test::observe(*detector);
  record(*detector, "e0", k500, 2, t0);
  ASSERT_TRUE(detector->isEjected("e0"));
  EXPECT_EQ(detector->endpoint("e0")->ejectedUntil, t0 + 30s);
  EXPECT_EQ(detector->nextUpdateAt(), t0 + 30s);

  detector->update(t0 + 29s);
  EXPECT_TRUE(detector->isEjected("e0"));

  detector->update(t0 + 30s);
  EXPECT_FALSE(detector->isEjected("e0"));
  EXPECT_EQ(detector->nextUpdateAt(), std::nullopt);
  EXPECT_EQ(
      events->events(),
      (std::vector<HealthEvent>{
          {"e0", HealthState::kUp, HealthState::kEjected, Reason::kConsecutive5xx, t0},
          {"e0", HealthState::kEjected, HealthState::kUp, Reason::kEjectionExpired, t0 + 30s}}));
}

// An update that comes late ends the ejection at its own `now`.
TEST(OutlierTest, LateUpdateUnejectsAtItsNow) {
  auto detector = test::makeDetector(consecutive(1), 1);
  auto events = test::observe(*detector);
  detector->recordOutcome("e0", k500, t0);

  detector->update(t0 + 45s);

  ASSERT_EQ(events->events().size(), 2u);
  EXPECT_EQ(events->events()[1].at, t0 + 45s);
}

// Without an update, the endpoint's own next outcome after the ejection time ends the ejection,
// and that outcome counts.
TEST(OutlierTest, OutcomeAfterExpiryUnejects) {
  auto detector = test::makeDetector(consecutive(2), 1);
  auto events = test::observe(*detector);
  record(*detector, "e0", k500, 2, t0);

  detector->recordOutcome("e0", k500, t0 + 31s);

  EXPECT_FALSE(detector->isEjected("e0"));
  EXPECT_EQ(detector->endpoint("e0")->consecutive5xx, 1);
  ASSERT_EQ(events->events().size(), 2u);
  EXPECT_EQ(events->events()[1].reason, Reason::kEjectionExpired);
  EXPECT_EQ(events->events()[1].at, t0 + 31s);
}

// Outcomes of requests that were in flight when the endpoint was ejected are ignored: they
// neither extend the ejection nor start a new streak.
TEST(OutlierTest, OutcomesWhileEjectedAreIgnored) {
  auto detector = test::makeDetector(consecutive(2), 1);
  record(*detector, "e0", k500, 2, t0);

  record(*detector, "e0", k500, 10, t0 + 1s);

  EXPECT_EQ(detector->endpoint("e0")->consecutive5xx, 0);
  EXPECT_EQ(detector->endpoint("e0")->ejections, 1u);
  EXPECT_EQ(detector->endpoint("e0")->ejectedUntil, t0 + 30s);
}

// After an ejection the streak starts from zero: one more 5xx does not eject again.
TEST(OutlierTest, EjectionRestartsTheStreak) {
  auto detector = test::makeDetector(consecutive(3), 1);
  record(*detector, "e0", k500, 3, t0);
  detector->update(t0 + 30s);
  ASSERT_FALSE(detector->isEjected("e0"));

  record(*detector, "e0", k500, 2, t0 + 31s);
  EXPECT_FALSE(detector->isEjected("e0"));
  detector->recordOutcome("e0", k500, t0 + 32s);
  EXPECT_TRUE(detector->isEjected("e0"));
}

// An outcome for an unknown endpoint is dropped and reported as such.
TEST(OutlierTest, OutcomeForUnknownEndpointIsDropped) {
  auto detector = test::makeDetector(consecutive(1), 1);

  EXPECT_FALSE(detector->recordOutcome("ghost", k500, t0));
  EXPECT_TRUE(detector->recordOutcome("e0", k200, t0));
  EXPECT_FALSE(detector->isEjected("ghost"));
}

// The Outcome classification: what is a server error and what a gateway failure.
TEST(OutlierTest, OutcomeClassification) {
  EXPECT_FALSE(Outcome::response(200).isServerError());
  EXPECT_FALSE(Outcome::response(499).isServerError());
  EXPECT_TRUE(Outcome::response(500).isServerError());
  EXPECT_FALSE(Outcome::response(500).isGatewayFailure());
  for (const int status : {502, 503, 504}) {
    EXPECT_TRUE(Outcome::response(status).isServerError()) << status;
    EXPECT_TRUE(Outcome::response(status).isGatewayFailure()) << status;
  }
  EXPECT_FALSE(Outcome::response(505).isGatewayFailure());
  for (const Outcome o : {Outcome::connectFailure(), Outcome::timeout(), Outcome::reset()}) {
    EXPECT_TRUE(o.isServerError());
    EXPECT_TRUE(o.isGatewayFailure());
  }
}

}  // namespace
}  // namespace fairway::health
