// Ejection length and limits: base × ejections, the max_ejection_time cap, decay of the count
// while healthy, and the max_ejection_percent cap on how many endpoints are out at once.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/health/outlier_detector.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::record;
using test::t0;

const Outcome k500 = Outcome::response(500);

// One 5xx ejects; 30 s base, 100 s cap, decay every 10 s.
OutlierConfig growing() {
  OutlierConfig config;
  config.consecutive5xx = 1;
  config.interval = 10s;
  config.baseEjectionTime = 30s;
  config.maxEjectionTime = 100s;
  config.maxEjectionPercent = 100;
  return config;
}

// Ejects e0 at `now` and returns how long the ejection lasts.
Duration ejectFor(OutlierDetector& detector, TimePoint now) {
  detector.recordOutcome("e0", k500, now);
  const std::optional<OutlierStatus> status = detector.endpoint("e0");
  EXPECT_TRUE(status && status->ejected);
  return status->ejectedUntil - now;
}

// Each ejection, straight after the last one ends, lasts base × its number: 30 s, 60 s, 90 s;
// then the cap: 100 s.
TEST(EjectionTest, LengthGrowsWithEjectionsUpToTheCap) {
  auto detector = test::makeDetector(growing(), 1);
  TimePoint now = t0;
  std::vector<Duration> lengths;
  for (int i = 0; i < 5; ++i) {
    const Duration length = ejectFor(*detector, now);
    lengths.push_back(length);
    now += length;
    detector->update(now);
  }

  EXPECT_EQ(lengths, (std::vector<Duration>{30s, 60s, 90s, 100s, 100s}));
  EXPECT_EQ(detector->endpoint("e0")->ejections, 5u);
}

// The multiplier stops growing once base × multiplier reaches the cap (ceil(100 / 30) = 4), so a
// long outage does not take forever to decay.
TEST(EjectionTest, MultiplierStopsGrowingAtTheCap) {
  auto detector = test::makeDetector(growing(), 1);
  TimePoint now = t0;
  for (int i = 0; i < 20; ++i) {
    now += ejectFor(*detector, now);
    detector->update(now);
  }

  EXPECT_EQ(detector->endpoint("e0")->multiplier, 4);
  EXPECT_EQ(detector->endpoint("e0")->ejections, 20u);
}

// With max equal to base every ejection lasts base.
TEST(EjectionTest, MaxEqualToBaseKeepsEjectionsShort) {
  OutlierConfig config = growing();
  config.maxEjectionTime = config.baseEjectionTime;
  auto detector = test::makeDetector(config, 1);
  TimePoint now = t0;
  for (int i = 0; i < 3; ++i) {
    const Duration length = ejectFor(*detector, now);
    EXPECT_EQ(length, 30s) << "ejection " << i;
    now += length;
    detector->update(now);
  }
}

// Each whole interval spent un-ejected takes one off the count: after three ejections (count 3),
// 20 s healthy leaves 1, so the next ejection lasts 2 × base.
TEST(EjectionTest, CountDecaysWhileHealthy) {
  auto detector = test::makeDetector(growing(), 1);
  TimePoint now = t0;
  for (int i = 0; i < 3; ++i) {
    now += ejectFor(*detector, now);
    detector->update(now);
  }
  ASSERT_EQ(detector->endpoint("e0")->multiplier, 3);

  detector->update(now + 19s);
  EXPECT_EQ(detector->endpoint("e0")->multiplier, 2);  // one whole interval so far
  detector->update(now + 20s);
  EXPECT_EQ(detector->endpoint("e0")->multiplier, 1);

  EXPECT_EQ(ejectFor(*detector, now + 25s), 60s);
}

// Decay does not depend on update() being called: the ejection that follows computes it.
TEST(EjectionTest, DecayIsIndependentOfUpdateCadence) {
  auto often = test::makeDetector(growing(), 1);
  auto never = test::makeDetector(growing(), 1);
  TimePoint now = t0;
  for (int i = 0; i < 3; ++i) {
    ejectFor(*often, now);
    now += ejectFor(*never, now);
    often->update(now);
    never->update(now);
  }

  for (TimePoint t = now; t < now + 25s; t += 1s) {
    often->update(t);
  }
  EXPECT_EQ(ejectFor(*often, now + 25s), ejectFor(*never, now + 25s));
}

// A long healthy spell brings the count back to zero: the next ejection lasts base again.
TEST(EjectionTest, FullDecayReturnsToBase) {
  auto detector = test::makeDetector(growing(), 1);
  TimePoint now = t0;
  for (int i = 0; i < 4; ++i) {
    now += ejectFor(*detector, now);
    detector->update(now);
  }

  detector->update(now + 1h);
  EXPECT_EQ(detector->endpoint("e0")->multiplier, 0);
  EXPECT_EQ(ejectFor(*detector, now + 1h), 30s);
}

// 10 endpoints, max_ejection_percent 20: at most 2 ejected at once; a third failing endpoint is
// ejected on its next failure once a slot frees up.
TEST(EjectionTest, MaxEjectionPercentCapsEjectionsAtOnce) {
  OutlierConfig config = growing();
  config.maxEjectionPercent = 20;
  auto detector = test::makeDetector(config, 10);
  auto events = test::observe(*detector);

  detector->recordOutcome("e0", k500, t0);        // out until t0 + 30 s
  detector->recordOutcome("e1", k500, t0 + 10s);  // out until t0 + 40 s
  for (const char* id : {"e2", "e3", "e4"}) {
    detector->recordOutcome(id, k500, t0 + 20s);
  }
  EXPECT_EQ(detector->ejectedCount(), 2u);
  EXPECT_TRUE(detector->isEjected("e0"));
  EXPECT_TRUE(detector->isEjected("e1"));
  EXPECT_FALSE(detector->isEjected("e2"));

  detector->update(t0 + 30s);  // e0's ejection ends
  EXPECT_EQ(detector->ejectedCount(), 1u);
  detector->recordOutcome("e2", k500, t0 + 32s);
  EXPECT_TRUE(detector->isEjected("e2"));
  detector->recordOutcome("e3", k500, t0 + 32s);
  EXPECT_FALSE(detector->isEjected("e3"));
  EXPECT_EQ(detector->ejectedCount(), 2u);
  EXPECT_EQ(events->events().size(), 4u);  // e0, e1 out; e0 back; e2 out
}

// The cap rounds down: 5 endpoints at 10% allow none (0.5 of an endpoint), unless
// always_eject_one_host allows one when none is ejected.
TEST(EjectionTest, CapRoundsDownUnlessAlwaysEjectOneHost) {
  OutlierConfig config = growing();
  config.maxEjectionPercent = 10;
  auto strict = test::makeDetector(config, 5);
  record(*strict, "e0", k500, 10, t0);
  EXPECT_EQ(strict->ejectedCount(), 0u);

  config.alwaysEjectOneHost = true;
  auto lenient = test::makeDetector(config, 5);
  record(*lenient, "e0", k500, 1, t0);
  record(*lenient, "e1", k500, 1, t0);
  EXPECT_TRUE(lenient->isEjected("e0"));
  EXPECT_FALSE(lenient->isEjected("e1"));
}

// The cap is exact at its boundary: 3 endpoints at 66.7% allow 2, at 66.6% only 1.
TEST(EjectionTest, CapBoundaryIsExact) {
  for (const auto& [percent, allowed] :
       std::vector<std::pair<double, std::size_t>>{{66.7, 2}, {66.6, 1}, {100, 3}, {0, 0}}) {
    OutlierConfig config = growing();
    config.maxEjectionPercent = percent;
    auto detector = test::makeDetector(config, 3);
    for (int i = 0; i < 3; ++i) {
      detector->recordOutcome("e" + std::to_string(i), k500, t0);
    }
    EXPECT_EQ(detector->ejectedCount(), allowed) << percent << "%";
  }
}

// nextUpdateAt() is the earliest ejection end.
TEST(EjectionTest, NextUpdateAtIsTheEarliestEjectionEnd) {
  auto detector = test::makeDetector(growing(), 3);
  EXPECT_EQ(detector->nextUpdateAt(), std::nullopt);

  detector->recordOutcome("e1", k500, t0 + 5s);
  detector->recordOutcome("e0", k500, t0);

  EXPECT_EQ(detector->nextUpdateAt(), t0 + 30s);
  detector->update(t0 + 30s);
  EXPECT_EQ(detector->nextUpdateAt(), t0 + 35s);
}

}  // namespace
}  // namespace fairway::health
