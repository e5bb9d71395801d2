// Failure-percentage detection: at the end of each interval, endpoints with enough requests whose
// failure share reaches the threshold are ejected, if enough endpoints had enough requests.

#include <string>

#include <gtest/gtest.h>

#include <fairway/health/outlier_detector.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::record;
using test::t0;

const Outcome k200 = Outcome::response(200);
const Outcome k500 = Outcome::response(500);

// 50% over 10 s windows, at least 10 requests, at least 3 such endpoints; streaks off.
OutlierConfig percentage() {
  OutlierConfig config;
  config.consecutive5xx = 0;
  config.interval = 10s;
  config.maxEjectionPercent = 100;
  config.failurePercentageThreshold = 50;
  config.failurePercentageRequestVolume = 10;
  config.failurePercentageMinimumHosts = 3;
  return config;
}

// Records `requests` outcomes for `id`, the first `failures` of them 500s.
void traffic(OutlierDetector& detector, const std::string& id, int requests, int failures,
             TimePoint now) {
  record(detector, id, k500, failures, now);
  record(detector, id, k200, requests - failures, now);
}

// At the window's end, an endpoint at 50% failures is ejected, one at 40% is not.
TEST(FailurePercentageTest, EjectsAtThresholdWhenTheWindowEnds) {
  auto detector = test::makeDetector(percentage(), 3);
  auto events = test::observe(*detector);
  detector->update(t0);  // the first window starts
  traffic(*detector, "e0", 10, 5, t0 + 1s);
  traffic(*detector, "e1", 10, 4, t0 + 1s);
  traffic(*detector, "e2", 10, 0, t0 + 1s);

  detector->update(t0 + 9s);
  EXPECT_FALSE(detector->isEjected("e0"));

  detector->update(t0 + 10s);
  EXPECT_TRUE(detector->isEjected("e0"));
  EXPECT_FALSE(detector->isEjected("e1"));
  EXPECT_EQ(events->events(),
            (std::vector<HealthEvent>{{"e0", HealthState::kUp, HealthState::kEjected,
                                       Reason::kFailurePercentage, t0 + 10s}}));
}

// An endpoint below failure_percentage_request_volume is not judged, however bad.
TEST(FailurePercentageTest, RequiresRequestVolume) {
  auto detector = test::makeDetector(percentage(), 4);
  detector->update(t0);
  traffic(*detector, "e0", 9, 9, t0 + 1s);
  for (const char* id : {"e1", "e2", "e3"}) {
    traffic(*detector, id, 10, 0, t0 + 1s);
  }

  detector->update(t0 + 10s);

  EXPECT_FALSE(detector->isEjected("e0"));
}

// Fewer than failure_percentage_minimum_hosts endpoints with enough requests: nobody is judged.
TEST(FailurePercentageTest, RequiresMinimumHosts) {
  auto detector = test::makeDetector(percentage(), 3);
  detector->update(t0);
  traffic(*detector, "e0", 10, 10, t0 + 1s);
  traffic(*detector, "e1", 10, 0, t0 + 1s);
  traffic(*detector, "e2", 9, 0, t0 + 1s);

  detector->update(t0 + 10s);

  EXPECT_FALSE(detector->isEjected("e0"));
}

// Each window starts empty: failures spread over two windows, each below the volume, never add
// up.
TEST(FailurePercentageTest, WindowRestartsEachInterval) {
  auto detector = test::makeDetector(percentage(), 3);
  detector->update(t0);
  traffic(*detector, "e0", 6, 6, t0 + 1s);
  for (const char* id : {"e1", "e2"}) {
    traffic(*detector, id, 10, 0, t0 + 1s);
  }
  detector->update(t0 + 10s);
  traffic(*detector, "e0", 6, 6, t0 + 11s);
  for (const char* id : {"e1", "e2"}) {
    traffic(*detector, id, 10, 0, t0 + 11s);
  }

  detector->update(t0 + 20s);

  EXPECT_FALSE(detector->isEjected("e0"));
  EXPECT_EQ(detector->endpoint("e0")->windowRequests, 0u);
}

// Windows start at the first update(); outcomes recorded before it are not counted.
TEST(FailurePercentageTest, FirstUpdateStartsTheFirstWindow) {
  auto detector = test::makeDetector(percentage(), 3);
  traffic(*detector, "e0", 10, 10, t0);
  for (const char* id : {"e1", "e2"}) {
    traffic(*detector, id, 10, 0, t0);
  }

  detector->update(t0 + 1s);
  EXPECT_EQ(detector->nextUpdateAt(), t0 + 11s);
  detector->update(t0 + 11s);

  EXPECT_FALSE(detector->isEjected("e0"));
}

// When the cap cannot take every outlier, the worst go first: 10 endpoints at 20%, four
// outliers at 60%, 90%, 70% and 80% failures: the 90% and 80% ones are ejected.
TEST(FailurePercentageTest, WorstAreEjectedFirstUnderTheCap) {
  OutlierConfig config = percentage();
  config.maxEjectionPercent = 20;
  auto detector = test::makeDetector(config, 10);
  detector->update(t0);
  const int failures[] = {6, 9, 7, 8, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 10; ++i) {
    traffic(*detector, "e" + std::to_string(i), 10, failures[i], t0 + 1s);
  }

  detector->update(t0 + 10s);

  EXPECT_EQ(detector->ejectedCount(), 2u);
  EXPECT_TRUE(detector->isEjected("e1"));
  EXPECT_TRUE(detector->isEjected("e3"));
}

// A late update evaluates once and keeps the windows on the interval grid.
TEST(FailurePercentageTest, LateUpdateStaysOnTheGrid) {
  auto detector = test::makeDetector(percentage(), 3);
  detector->update(t0);

  detector->update(t0 + 35s);

  EXPECT_EQ(detector->nextUpdateAt(), t0 + 40s);
}

// A threshold of 0 turns failure-percentage detection off: no windows, no ejections.
TEST(FailurePercentageTest, ZeroThresholdDisablesIt) {
  OutlierConfig config = percentage();
  config.failurePercentageThreshold = 0;
  auto detector = test::makeDetector(config, 3);
  detector->update(t0);
  for (const char* id : {"e0", "e1", "e2"}) {
    traffic(*detector, id, 10, 10, t0 + 1s);
  }

  detector->update(t0 + 10s);

  EXPECT_EQ(detector->ejectedCount(), 0u);
  EXPECT_EQ(detector->nextUpdateAt(), std::nullopt);
}

}  // namespace
}  // namespace fairway::health
