// Observers: every change delivered to every observer, in order, with the right from, to,
// reason and instant; after the component's locks are released; unsubscribe.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::failed;
using test::passed;
using test::t0;

HealthCheckConfig riseFall(int rise, int fall) {
  HealthCheckConfig config;
  config.rise = rise;
  config.fall = fall;
  config.interval = 2s;
  config.initialState = InitialState::kFullyUp;
  return config;
}

// Two observers each see every change of every endpoint, in the order the changes happened.
TEST(ObserverTest, EveryObserverSeesEveryChangeInOrder) {
  auto checker = test::makeChecker(riseFall(2, 2));
  auto first = test::observe(*checker);
  auto second = test::observe(*checker);
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->add("b", "10.0.0.2:80", t0).ok());

  for (const auto& [id, result, at] : std::vector<std::tuple<std::string, ProbeResult, TimePoint>>{
           {"a", failed(), t0 + 2s},
           {"b", failed(), t0 + 3s},
           {"a", failed(), t0 + 4s},  // a down
           {"b", failed(), t0 + 5s},  // b down
           {"b", passed(), t0 + 6s},
           {"a", passed(), t0 + 7s},
           {"b", passed(), t0 + 8s},  // b up
       }) {
    ASSERT_TRUE(checker->recordProbe(id, result, at).ok());
  }

  const std::vector<HealthEvent> expected = {
      {"a", HealthState::kUp, HealthState::kDown, Reason::kProbesFailed, t0 + 4s},
      {"b", HealthState::kUp, HealthState::kDown, Reason::kProbesFailed, t0 + 5s},
      {"b", HealthState::kDown, HealthState::kUp, Reason::kProbesPassed, t0 + 8s},
  };
  EXPECT_EQ(first->events(), expected);
  EXPECT_EQ(second->events(), expected);
}

// The outlier detector reports ejections and their ends the same way.
TEST(ObserverTest, OutlierDetectorReportsEjectionsAndReturns) {
  OutlierConfig config;
  config.consecutive5xx = 2;
  config.maxEjectionPercent = 100;
  auto detector = test::makeDetector(config, 2);
  auto first = test::observe(*detector);
  auto second = test::observe(*detector);

  test::record(*detector, "e1", Outcome::response(500), 2, t0 + 1s);
  test::record(*detector, "e0", Outcome::timeout(), 2, t0 + 2s);
  detector->update(t0 + 40s);

  const std::vector<HealthEvent> expected = {
      {"e1", HealthState::kUp, HealthState::kEjected, Reason::kConsecutive5xx, t0 + 1s},
      {"e0", HealthState::kUp, HealthState::kEjected, Reason::kConsecutive5xx, t0 + 2s},
      {"e1", HealthState::kEjected, HealthState::kUp, Reason::kEjectionExpired, t0 + 40s},
      {"e0", HealthState::kEjected, HealthState::kUp, Reason::kEjectionExpired, t0 + 40s},
  };
  EXPECT_EQ(first->events(), expected);
  EXPECT_EQ(second->events(), expected);
}

// An unsubscribed observer hears nothing more; the others go on.
TEST(ObserverTest, UnsubscribeStopsDelivery) {
  auto checker = test::makeChecker(riseFall(1, 1));
  auto staying = test::observe(*checker);
  auto leaving = test::observe(*checker);
  ASSERT_TRUE(checker->add("a", "", t0).ok());
  ASSERT_TRUE(checker->recordProbe("a", failed(), t0 + 1s).ok());

  checker->unsubscribe(leaving.get());
  ASSERT_TRUE(checker->recordProbe("a", passed(), t0 + 2s).ok());

  EXPECT_EQ(staying->events().size(), 2u);
  EXPECT_EQ(leaving->events().size(), 1u);
}

// Reads the checker's state from inside the notification: possible only if the checker's lock
// is released before delivery, and the state read is already the new one.
class StateReadingObserver final : public Observer {
 public:
  explicit StateReadingObserver(HealthChecker& checker) : checker_(checker) {}

  // fairway::health::Observer
  void onHealthChange(const HealthEvent& event) override {
    seen.push_back(checker_.state(event.endpoint));
  }

  std::vector<std::optional<HealthState>> seen;

 private:
  HealthChecker& checker_;
};

TEST(ObserverTest, DeliveredAfterTheLockIsReleased) {
  auto checker = test::makeChecker(riseFall(1, 1));
  auto observer = std::make_shared<StateReadingObserver>(*checker);
  checker->subscribe(observer);
  ASSERT_TRUE(checker->add("a", "", t0).ok());

  ASSERT_TRUE(checker->recordProbe("a", failed(), t0 + 1s).ok());

  EXPECT_EQ(observer->seen, (std::vector<std::optional<HealthState>>{HealthState::kDown}));
}

// An observer that causes a further change from inside its notification (here: a probe result
// that flips the endpoint back) neither deadlocks nor reorders: the second event follows the
// first, to every observer.
class FlipBackObserver final : public Observer {
 public:
  explicit FlipBackObserver(HealthChecker& checker) : checker_(checker) {}

  // fairway::health::Observer
  void onHealthChange(const HealthEvent& event) override {
    if (event.to == HealthState::kDown) {
      EXPECT_TRUE(checker_.recordProbe(event.endpoint, test::passed(), event.at + 1s).ok());
    }
  }

 private:
  HealthChecker& checker_;
};

TEST(ObserverTest, ObserverMayCallBackIntoTheChecker) {
  auto checker = test::makeChecker(riseFall(1, 1));
  checker->subscribe(std::make_shared<FlipBackObserver>(*checker));
  auto recorder = test::observe(*checker);
  ASSERT_TRUE(checker->add("a", "", t0).ok());

  ASSERT_TRUE(checker->recordProbe("a", failed(), t0 + 1s).ok());

  EXPECT_EQ(recorder->events(),
            (std::vector<HealthEvent>{
                {"a", HealthState::kUp, HealthState::kDown, Reason::kProbesFailed, t0 + 1s},
                {"a", HealthState::kDown, HealthState::kUp, Reason::kProbesPassed, t0 + 2s}}));
  EXPECT_EQ(checker->state("a"), HealthState::kUp);
}

// Results that change nothing notify nobody.
TEST(ObserverTest, NoChangeNoEvent) {
  auto checker = test::makeChecker(riseFall(2, 3));
  auto recorder = test::observe(*checker);
  ASSERT_TRUE(checker->add("a", "", t0).ok());

  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(checker->recordProbe("a", i % 3 == 0 ? passed() : failed(), t0 + i * 1s).ok());
  }

  EXPECT_TRUE(recorder->events().empty());
}

// The names used in logs and metrics.
TEST(ObserverTest, NamesAreSnakeCase) {
  EXPECT_EQ(name(HealthState::kUp), "up");
  EXPECT_EQ(name(HealthState::kDown), "down");
  EXPECT_EQ(name(HealthState::kEjected), "ejected");
  EXPECT_EQ(name(Reason::kProbesPassed), "probes_passed");
  EXPECT_EQ(name(Reason::kProbesFailed), "probes_failed");
  EXPECT_EQ(name(Reason::kConsecutive5xx), "consecutive_5xx");
  EXPECT_EQ(name(Reason::kConsecutiveGatewayFailure), "consecutive_gateway_failure");
  EXPECT_EQ(name(Reason::kFailurePercentage), "failure_percentage");
  EXPECT_EQ(name(Reason::kEjectionExpired), "ejection_expired");
}

}  // namespace
}  // namespace fairway::health
