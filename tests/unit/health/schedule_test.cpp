// The probe schedule: interval, fast interval while a change is in progress, down interval while
// down, jitter, and handing probes out (takeDueProbes, probeDue).

#include <set>
#include <string>
#include <vector>

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

HealthCheckConfig scheduled() {
  HealthCheckConfig config;
  config.rise = 2;
  config.fall = 3;
  config.interval = 10s;
  config.fastInterval = 1s;
  config.downInterval = 30s;
  config.initialState = InitialState::kFullyUp;
  return config;
}

std::vector<std::string> idsOf(const std::vector<ProbeTarget>& targets) {
  std::vector<std::string> ids;
  for (const ProbeTarget& t : targets) {
    ids.push_back(t.endpoint);
  }
  return ids;
}

// Without jitter the first probe is due as soon as the endpoint is added.
TEST(ScheduleTest, FirstProbeIsDueAtOnce) {
  auto checker = test::makeChecker(scheduled());
  EXPECT_EQ(checker->nextProbeAt(t0), std::nullopt);  // nothing to probe yet

  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());

  EXPECT_EQ(checker->nextProbeAt(t0), t0);
  EXPECT_EQ(checker->nextProbeAt(t0 + 5s), t0 + 5s);  // overdue: due now
}

// While up and steady, each probe follows the previous result by `interval`.
TEST(ScheduleTest, UpProbesEveryInterval) {
  ActiveCheck check(scheduled(), InitialState::kFullyUp, t0, 1);

  check.recordProbe(passed(), t0);
  EXPECT_EQ(check.dueAt(), t0 + 10s);
  check.recordProbe(passed(), t0 + 10s + 3ms);  // measured from the result, not the due time
  EXPECT_EQ(check.dueAt(), t0 + 20s + 3ms);
  EXPECT_EQ(check.nextProbeAt(t0 + 15s), t0 + 20s + 3ms);
}

// A failed probe on an up endpoint starts a change: probes come every fast interval until the
// endpoint is down, then every down interval.
TEST(ScheduleTest, FastIntervalWhileGoingDownThenDownInterval) {
  ActiveCheck check(scheduled(), InitialState::kFullyUp, t0, 1);

  check.recordProbe(failed(), t0);
  EXPECT_EQ(check.dueAt(), t0 + 1s);
  check.recordProbe(failed(), t0 + 1s);
  EXPECT_EQ(check.dueAt(), t0 + 2s);
  check.recordProbe(failed(), t0 + 2s);  // fall 3: down
  ASSERT_FALSE(check.up());
  EXPECT_EQ(check.dueAt(), t0 + 32s);
  check.recordProbe(failed(), t0 + 32s);
  EXPECT_EQ(check.dueAt(), t0 + 62s);
}

// A success on a down endpoint starts a change too: fast interval until it is up, then interval.
TEST(ScheduleTest, FastIntervalWhileComingUp) {
  ActiveCheck check(scheduled(), InitialState::kFullyDown, t0, 1);

  check.recordProbe(passed(), t0);
  EXPECT_EQ(check.dueAt(), t0 + 1s);
  check.recordProbe(passed(), t0 + 1s);  // rise 2: up
  ASSERT_TRUE(check.up());
  EXPECT_EQ(check.dueAt(), t0 + 11s);
}

// A change that does not complete ends the fast interval: back to the state's own interval.
TEST(ScheduleTest, AbortedChangeReturnsToNormalInterval) {
  ActiveCheck up(scheduled(), InitialState::kFullyUp, t0, 1);
  up.recordProbe(failed(), t0);
  up.recordProbe(passed(), t0 + 1s);
  EXPECT_EQ(up.dueAt(), t0 + 11s);

  ActiveCheck down(scheduled(), InitialState::kFullyDown, t0, 1);
  down.recordProbe(passed(), t0);
  down.recordProbe(failed(), t0 + 1s);
  EXPECT_EQ(down.dueAt(), t0 + 31s);
}

// HAProxy's `up` init-state is one failure from down: a change in progress from the start.
TEST(ScheduleTest, InitialUpUsesFastIntervalUntilConfirmed) {
  ActiveCheck check(scheduled(), InitialState::kUp, t0, 1);
  EXPECT_TRUE(check.transitioning());
  EXPECT_EQ(check.currentInterval(), 1s);

  check.recordProbe(passed(), t0);
  EXPECT_FALSE(check.transitioning());
  EXPECT_EQ(check.dueAt(), t0 + 10s);
}

// Unset fast and down intervals fall back to `interval`, as in HAProxy.
TEST(ScheduleTest, UnsetIntervalsFallBackToInterval) {
  HealthCheckConfig config = scheduled();
  config.fastInterval.reset();
  config.downInterval.reset();
  ActiveCheck check(config, InitialState::kFullyUp, t0, 1);

  check.recordProbe(failed(), t0);
  EXPECT_EQ(check.dueAt(), t0 + 10s);
  check.recordProbe(failed(), t0 + 10s);
  check.recordProbe(failed(), t0 + 20s);
  ASSERT_FALSE(check.up());
  EXPECT_EQ(check.dueAt(), t0 + 30s);
}

// With jitter p, every delay lies within interval × [1 - p, 1 + p], and the delays differ.
TEST(ScheduleTest, JitterStaysWithinBounds) {
  HealthCheckConfig config = scheduled();
  config.jitterPercent = 20;
  ActiveCheck check(config, InitialState::kFullyUp, t0, 42);

  std::set<Duration> delays;
  TimePoint now = t0;
  for (int i = 0; i < 1000; ++i) {
    check.recordProbe(passed(), now);
    const Duration delay = check.dueAt() - now;
    ASSERT_GE(delay, 8s) << "probe " << i;
    ASSERT_LE(delay, 12s) << "probe " << i;
    delays.insert(delay);
    now = check.dueAt();
  }
  EXPECT_GT(delays.size(), 900u);
  EXPECT_LT(*delays.begin(), 8500ms);  // the range is used, not just its middle
  EXPECT_GT(*delays.rbegin(), 11500ms);
}

// Jitter is deterministic: the same seed gives the same schedule, another seed another one.
TEST(ScheduleTest, JitterIsDeterministicForASeed) {
  HealthCheckConfig config = scheduled();
  config.jitterPercent = 10;
  const auto schedule = [&](std::uint64_t seed) {
    config.seed = seed;
    auto checker = test::makeChecker(config);
    EXPECT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
    std::vector<TimePoint> due;
    for (int i = 0; i < 20; ++i) {
      const TimePoint now = *checker->nextProbeAt(t0);
      EXPECT_TRUE(checker->recordProbe("a", passed(), now).ok());
      due.push_back(now);
    }
    return due;
  };

  EXPECT_EQ(schedule(7), schedule(7));
  EXPECT_NE(schedule(7), schedule(8));
}

// An endpoint's jitter depends on the seed and its id only, not on the other endpoints.
TEST(ScheduleTest, JitterOfOneEndpointIgnoresOthers) {
  HealthCheckConfig config = scheduled();
  config.jitterPercent = 10;
  auto alone = test::makeChecker(config);
  auto crowded = test::makeChecker(config);
  ASSERT_TRUE(alone->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(crowded->add("b", "10.0.0.2:80", t0).ok());
  ASSERT_TRUE(crowded->add("a", "10.0.0.1:80", t0).ok());

  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(crowded->recordProbe("b", failed(), t0 + i * 1s).ok());
    ASSERT_TRUE(alone->recordProbe("a", passed(), t0 + i * 10s).ok());
    ASSERT_TRUE(crowded->recordProbe("a", passed(), t0 + i * 10s).ok());
    EXPECT_EQ(alone->endpoint("a")->nextProbeAt, crowded->endpoint("a")->nextProbeAt);
  }
}

// With jitter, first probes spread over [add, add + p × interval] instead of all coming at once.
TEST(ScheduleTest, FirstProbesSpreadOverJitter) {
  HealthCheckConfig config = scheduled();
  config.jitterPercent = 50;
  auto checker = test::makeChecker(config);
  std::set<TimePoint> firsts;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "e" + std::to_string(i);
    ASSERT_TRUE(checker->add(id, "", t0).ok());
    const TimePoint first = checker->endpoint(id)->nextProbeAt;
    ASSERT_GE(first, t0);
    ASSERT_LE(first, t0 + 5s);
    firsts.insert(first);
  }
  EXPECT_GT(firsts.size(), 90u);
}

// takeDueProbes hands out each due probe once, in due order, with the probe's configuration; the
// endpoint waits for its result before it is scheduled again.
TEST(ScheduleTest, TakeDueProbesHandsOutDueProbesOnce) {
  HealthCheckConfig config = scheduled();
  config.probe.path = "/ready";
  config.probe.timeout = 3s;
  auto checker = test::makeChecker(config);
  ASSERT_TRUE(checker->add("a", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->add("b", "10.0.0.2:80", t0 + 1s).ok());
  ASSERT_TRUE(checker->add("c", "10.0.0.3:80", t0 + 5s).ok());

  const std::vector<ProbeTarget> due = checker->takeDueProbes(t0 + 2s);
  ASSERT_EQ(idsOf(due), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(due[0].address, "10.0.0.1:80");
  EXPECT_EQ(due[0].probe.path, "/ready");
  EXPECT_EQ(due[0].probe.timeout, 3s);
  EXPECT_TRUE(checker->endpoint("a")->probing);

  EXPECT_TRUE(checker->takeDueProbes(t0 + 3s).empty());  // a and b are being probed
  EXPECT_EQ(checker->nextProbeAt(t0 + 3s), t0 + 5s);     // c is next

  ASSERT_TRUE(checker->recordProbe("b", passed(), t0 + 2s + 10ms).ok());
  EXPECT_FALSE(checker->endpoint("b")->probing);
  EXPECT_EQ(idsOf(checker->takeDueProbes(t0 + 6s)), (std::vector<std::string>{"c"}));
  EXPECT_EQ(idsOf(checker->takeDueProbes(t0 + 12s + 10ms)), (std::vector<std::string>{"b"}));
}

// Endpoints due at the same instant come out in the order they were scheduled.
TEST(ScheduleTest, TiesComeOutInScheduleOrder) {
  auto checker = test::makeChecker(scheduled());
  for (const char* id : {"c", "a", "b"}) {
    ASSERT_TRUE(checker->add(id, "", t0).ok());
  }

  EXPECT_EQ(idsOf(checker->takeDueProbes(t0)), (std::vector<std::string>{"c", "a", "b"}));
}

// A Prober that answers at once with a canned result per endpoint, as a simulator's might.
class CannedProber final : public Prober {
 public:
  // fairway::health::Prober
  void probe(const ProbeTarget& target, Callback done) override {
    targets.push_back(target);
    done(target.endpoint == "sick" ? test::failed() : test::passed());
  }

  std::vector<ProbeTarget> targets;
};

// probeDue starts every due probe through the Prober and records each result at start + latency.
TEST(ScheduleTest, ProbeDueRunsProbesThroughTheProber) {
  auto checker = test::makeChecker(scheduled());
  ASSERT_TRUE(checker->add("well", "10.0.0.1:80", t0).ok());
  ASSERT_TRUE(checker->add("sick", "10.0.0.2:80", t0).ok());
  CannedProber prober;

  checker->probeDue(prober, t0 + 1s);

  EXPECT_EQ(idsOf(prober.targets), (std::vector<std::string>{"well", "sick"}));
  EXPECT_EQ(checker->endpoint("well")->nextProbeAt, t0 + 1s + 2ms + 10s);  // latency 2 ms
  EXPECT_EQ(checker->endpoint("sick")->nextProbeAt, t0 + 1s + 10ms + 1s);  // fast: going down
  EXPECT_FALSE(checker->endpoint("sick")->probing);
}

// The probe configuration's expected statuses: 2xx and 3xx by default, or the ranges given.
TEST(ScheduleTest, ProbeConfigAcceptsExpectedStatuses) {
  const ProbeConfig defaults;
  EXPECT_TRUE(defaults.accepts(200));
  EXPECT_TRUE(defaults.accepts(302));
  EXPECT_FALSE(defaults.accepts(404));
  EXPECT_FALSE(defaults.accepts(503));

  ProbeConfig strict;
  strict.expectedStatuses = {{200, 200}, {204, 204}};
  EXPECT_TRUE(strict.accepts(204));
  EXPECT_FALSE(strict.accepts(201));
}

}  // namespace
}  // namespace fairway::health
