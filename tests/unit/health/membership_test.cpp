// Adding and removing endpoints at run time, in both components.

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

HealthCheckConfig steady() {
  HealthCheckConfig config;
  config.interval = 10s;
  config.initialState = InitialState::kFullyUp;
  return config;
}

OutlierConfig ejectOnOne(double maxPercent = 100) {
  OutlierConfig config;
  config.consecutive5xx = 1;
  config.maxEjectionPercent = maxPercent;
  return config;
}

std::vector<std::string> idsOf(const std::vector<EndpointHealth>& endpoints) {
  std::vector<std::string> ids;
  for (const EndpointHealth& e : endpoints) {
    ids.push_back(e.id);
  }
  return ids;
}

// add and remove change the set; endpoints() lists it sorted by id.
TEST(MembershipTest, CheckerAddsAndRemoves) {
  auto checker = test::makeChecker(steady());
  for (const char* id : {"c", "a", "b"}) {
    ASSERT_TRUE(checker->add(id, "", t0).ok());
  }
  EXPECT_EQ(checker->size(), 3u);
  EXPECT_EQ(idsOf(checker->endpoints()), (std::vector<std::string>{"a", "b", "c"}));

  ASSERT_TRUE(checker->remove("b").ok());
  EXPECT_EQ(idsOf(checker->endpoints()), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(checker->endpoint("b"), std::nullopt);
}

// Bad membership changes are refused with the matching code.
TEST(MembershipTest, CheckerRefusesBadChanges) {
  auto checker = test::makeChecker(steady());
  ASSERT_TRUE(checker->add("a", "", t0).ok());

  EXPECT_EQ(checker->add("a", "", t0).error().code, ErrorCode::kDuplicateId);
  EXPECT_EQ(checker->add("a", "", t0).message(), "endpoint id 'a' is already present");
  EXPECT_EQ(checker->add("", "", t0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(checker->remove("z").error().code, ErrorCode::kNotFound);
}

// A removed endpoint leaves the schedule, also while it is being probed, and its late result is
// refused.
TEST(MembershipTest, RemovedEndpointLeavesTheSchedule) {
  auto checker = test::makeChecker(steady());
  ASSERT_TRUE(checker->add("a", "", t0).ok());
  ASSERT_TRUE(checker->add("b", "", t0 + 1s).ok());
  ASSERT_EQ(checker->takeDueProbes(t0).size(), 1u);  // a is being probed

  ASSERT_TRUE(checker->remove("a").ok());
  ASSERT_TRUE(checker->remove("b").ok());

  EXPECT_EQ(checker->nextProbeAt(t0), std::nullopt);
  EXPECT_TRUE(checker->takeDueProbes(t0 + 1h).empty());
  EXPECT_EQ(checker->recordProbe("a", passed(), t0 + 1s).error().code, ErrorCode::kNotFound);
}

// An endpoint removed and added again starts afresh.
TEST(MembershipTest, ReAddedEndpointStartsAfresh) {
  auto checker = test::makeChecker(steady());
  ASSERT_TRUE(checker->add("a", "", t0).ok());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(checker->recordProbe("a", failed(), t0 + i * 1s).ok());
  }
  ASSERT_EQ(checker->state("a"), HealthState::kDown);

  ASSERT_TRUE(checker->remove("a").ok());
  ASSERT_TRUE(checker->add("a", "10.0.0.9:80", t0 + 1min).ok());

  EXPECT_EQ(checker->state("a"), HealthState::kUp);
  EXPECT_EQ(checker->endpoint("a")->nextProbeAt, t0 + 1min);
  EXPECT_EQ(checker->endpoint("a")->lastResult, std::nullopt);
}

// The detector lists its endpoints in the order they were added.
TEST(MembershipTest, DetectorAddsAndRemoves) {
  auto detector = test::makeDetector(ejectOnOne());
  for (const char* id : {"c", "a", "b"}) {
    ASSERT_TRUE(detector->add(id).ok());
  }
  ASSERT_TRUE(detector->remove("a").ok());

  std::vector<std::string> ids;
  for (const OutlierStatus& s : detector->endpoints()) {
    ids.push_back(s.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(detector->size(), 2u);
  EXPECT_EQ(detector->add("b").error().code, ErrorCode::kDuplicateId);
  EXPECT_EQ(detector->add("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(detector->remove("a").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(detector->recordOutcome("a", Outcome::response(500), t0));
}

// Removing an ejected endpoint ends its ejection silently and frees its place under the cap.
TEST(MembershipTest, RemovingAnEjectedEndpointFreesItsSlot) {
  auto detector = test::makeDetector(ejectOnOne(20), 10);
  auto events = test::observe(*detector);
  detector->recordOutcome("e0", Outcome::response(500), t0);
  detector->recordOutcome("e1", Outcome::response(500), t0);
  ASSERT_EQ(detector->ejectedCount(), 2u);

  ASSERT_TRUE(detector->remove("e0").ok());
  EXPECT_EQ(detector->ejectedCount(), 1u);
  EXPECT_EQ(detector->nextUpdateAt(), t0 + 30s);  // e1's end only
  detector->recordOutcome("e2", Outcome::response(500), t0 + 1s);
  EXPECT_FALSE(detector->isEjected("e2"));  // 9 endpoints at 20%: e1 fills the one place

  ASSERT_TRUE(detector->add("e10").ok());  // 10 again: two places
  detector->recordOutcome("e2", Outcome::response(500), t0 + 2s);
  EXPECT_TRUE(detector->isEjected("e2"));
  EXPECT_EQ(events->events().size(), 3u);  // e0, e1, e2 out; no event for the removal
}

// A new endpoint joins with no history.
TEST(MembershipTest, NewEndpointHasNoHistory) {
  auto detector = test::makeDetector(ejectOnOne());
  ASSERT_TRUE(detector->add("a").ok());
  detector->recordOutcome("a", Outcome::response(500), t0);
  ASSERT_TRUE(detector->remove("a").ok());

  ASSERT_TRUE(detector->add("a").ok());

  const OutlierStatus status = *detector->endpoint("a");
  EXPECT_FALSE(status.ejected);
  EXPECT_EQ(status.ejections, 0u);
  EXPECT_EQ(status.multiplier, 0);
}

}  // namespace
}  // namespace fairway::health
