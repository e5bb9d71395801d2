#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/breaker/breaker.hpp>

#include "test_util.hpp"

namespace fairway::breaker {
namespace {

using namespace std::chrono_literals;
using test::call;
using test::calls;
using test::consecutiveConfig;
using test::makeOrDie;
using test::t0;

constexpr Outcome kS = Outcome::kSuccess;
constexpr Outcome kF = Outcome::kFailure;

// Trips `breaker` (consecutive_failures = 1) at `now`.
void trip(Breaker& breaker, TimePoint now) {
  ASSERT_TRUE(call(breaker, kF, now));
  ASSERT_EQ(breaker.state(), State::kOpen);
}

// A failure-rate-only config over a count window.
Config failureRateConfig(double threshold, std::int64_t size, std::int64_t minimumCalls) {
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.failureRate = FailureRateConfig{.threshold = threshold};
  config.window = {.kind = WindowConfig::Kind::kCount, .size = size, .minimumCalls = minimumCalls};
  return config;
}

// Closed admits every call, answering with `now` as the retry instant.
TEST(BreakerTest, ClosedAdmitsEveryCall) {
  auto breaker = makeOrDie(consecutiveConfig(3));
  const Decision d = breaker->allow(t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(static_cast<bool>(d));
  EXPECT_EQ(d.state, State::kClosed);
  EXPECT_EQ(d.retryAfter, t0);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// Timeline: the third consecutive failure trips; the breaker then rejects until t + 1s.
TEST(BreakerTest, TripsOnConsecutiveFailures) {
  auto breaker = makeOrDie(consecutiveConfig(3));
  EXPECT_TRUE(call(*breaker, kF, t0));
  EXPECT_TRUE(call(*breaker, kF, t0 + 10ms));
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(call(*breaker, kF, t0 + 20ms));

  EXPECT_EQ(breaker->state(), State::kOpen);
  const Decision d = breaker->allow(t0 + 30ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.state, State::kOpen);
  EXPECT_EQ(d.retryAfter, t0 + 20ms + 1s);
}

// A success between failures restarts the consecutive count.
TEST(BreakerTest, SuccessResetsConsecutiveFailures) {
  auto breaker = makeOrDie(consecutiveConfig(3));
  calls(*breaker, kF, 2, t0);
  call(*breaker, kS, t0 + 10ms);
  calls(*breaker, kF, 2, t0 + 20ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->snapshot(t0 + 20ms).consecutiveFailures, 2);
  call(*breaker, kF, t0 + 30ms);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Ignored outcomes neither count as failures nor break a run of them.
TEST(BreakerTest, IgnoredOutcomesCountForNothing) {
  auto breaker = makeOrDie(consecutiveConfig(2));
  call(*breaker, kF, t0);
  calls(*breaker, Outcome::kIgnored, 5, t0 + 10ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kF, t0 + 20ms);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Open rejects every call until the open interval has elapsed, then admits a probe (half-open).
TEST(BreakerTest, OpenRejectsUntilIntervalElapsesThenHalfOpen) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);

  for (const Duration at : {0ms, 10ms, 500ms, 999ms}) {
    const Decision d = breaker->allow(t0 + at);
    EXPECT_FALSE(d.allowed) << formatDuration(at);
    EXPECT_EQ(d.retryAfter, t0 + 1s);
  }
  EXPECT_EQ(breaker->state(), State::kOpen);

  const Decision probe = breaker->allow(t0 + 1s);
  EXPECT_TRUE(probe.allowed);
  EXPECT_EQ(probe.state, State::kHalfOpen);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
}

// An elapsed interval alone does not change the state: the next allow() does.
TEST(BreakerTest, OpenStaysOpenUntilAskedAfterInterval) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);
  breaker->record(kS, t0 + 5s);  // a late result, not an allow()
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->snapshot(t0 + 5s).openUntil, t0 + 1s);
}

// Half-open admits exactly half_open.probes calls; the rest are rejected with `now` as the
// retry instant, since it depends on the probes in flight.
TEST(BreakerTest, HalfOpenAdmitsOnlyConfiguredProbes) {
  Config config = consecutiveConfig(1);
  config.halfOpen.probes = 2;
  auto breaker = makeOrDie(config);
  trip(*breaker, t0);

  EXPECT_TRUE(breaker->allow(t0 + 1s).allowed);
  EXPECT_TRUE(breaker->allow(t0 + 1s + 10ms).allowed);
  const Decision third = breaker->allow(t0 + 1s + 20ms);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.state, State::kHalfOpen);
  EXPECT_EQ(third.retryAfter, t0 + 1s + 20ms);
  EXPECT_FALSE(breaker->allow(t0 + 1h).allowed);  // no time-out: the probes decide
  EXPECT_EQ(breaker->snapshot(t0 + 1h).probesAdmitted, 2);
}

// A probe recorded Ignored gives its slot to the next caller.
TEST(BreakerTest, IgnoredProbeFreesItsSlot) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);
  ASSERT_TRUE(breaker->allow(t0 + 1s).allowed);
  EXPECT_FALSE(breaker->allow(t0 + 1s + 10ms).allowed);
  breaker->record(Outcome::kIgnored, t0 + 1s + 20ms);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(breaker->allow(t0 + 1s + 30ms).allowed);
}

// By default every probe must succeed: the breaker closes on the last one.
TEST(BreakerTest, AllProbesSucceedingCloses) {
  Config config = consecutiveConfig(1);
  config.halfOpen.probes = 3;
  auto breaker = makeOrDie(config);
  trip(*breaker, t0);

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(breaker->allow(t0 + 1s).allowed);
  }
  breaker->record(kS, t0 + 1s + 10ms);
  breaker->record(kS, t0 + 1s + 20ms);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->snapshot(t0 + 1s + 20ms).probeSuccesses, 2);
  breaker->record(kS, t0 + 1s + 30ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(breaker->allow(t0 + 1s + 40ms).allowed);
}

// With successes_to_close below probes, the breaker closes as soon as that many succeed; a probe
// still in flight then counts as an ordinary closed-state call.
TEST(BreakerTest, ClosesAfterConfiguredSuccesses) {
  Config config = consecutiveConfig(1);
  config.halfOpen = {.probes = 3, .successesToClose = 1};
  auto breaker = makeOrDie(config);
  trip(*breaker, t0);
  ASSERT_TRUE(breaker->allow(t0 + 1s).allowed);
  ASSERT_TRUE(breaker->allow(t0 + 1s).allowed);

  breaker->record(kS, t0 + 1s + 10ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
  breaker->record(kF, t0 + 1s + 20ms);  // the other probe, late: a closed-state failure
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Timeline: a failed probe reopens at once for the next, longer interval: 1s, then 2s, then 4s.
TEST(BreakerTest, ProbeFailureReopensWithLongerInterval) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);  // open 1s: [t0, t0 + 1s)

  TimePoint now = t0 + 1s;
  for (const Duration expected : {2s, 4s, 8s, 10s, 10s}) {
    ASSERT_TRUE(call(*breaker, kF, now));  // the probe fails
    EXPECT_EQ(breaker->state(), State::kOpen);
    EXPECT_EQ(breaker->allow(now + expected - 1ms).retryAfter, now + expected);
    EXPECT_FALSE(breaker->allow(now + expected - 1ns).allowed);
    now += expected;
    EXPECT_TRUE(breaker->allow(now).allowed);
    breaker->record(Outcome::kIgnored, now);  // hand the slot back for the next round
  }
}

// A successful probe after reopening still closes; the next trip continues the sequence.
TEST(BreakerTest, TripSoonAfterClosingContinuesBackoff) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);  // 1s
  ASSERT_TRUE(call(*breaker, kS, t0 + 1s));
  ASSERT_EQ(breaker->state(), State::kClosed);
  trip(*breaker, t0 + 2s);  // closed only 1s: 2s
  EXPECT_EQ(breaker->allow(t0 + 2s).retryAfter, t0 + 4s);
}

// The exponent resets after backoff.reset_after spent closed: a trip after 59s closed continues
// the sequence (4s); after a full 60s it starts again from 1s.
TEST(BreakerTest, BackoffExponentResetsAfterHealthyPeriod) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);                               // 1s
  ASSERT_TRUE(call(*breaker, kS, t0 + 1s));         // closed at 1s
  trip(*breaker, t0 + 1s + 10ms);                   // 2s
  ASSERT_TRUE(call(*breaker, kS, t0 + 3s + 10ms));  // closed at 3.01s
  EXPECT_EQ(breaker->snapshot(t0 + 62s).trips, 2);
  trip(*breaker, t0 + 62s + 9ms);  // 58.999s closed: 4s
  EXPECT_EQ(breaker->allow(t0 + 62s + 9ms).retryAfter, t0 + 66s + 9ms);

  ASSERT_TRUE(call(*breaker, kS, t0 + 66s + 9ms));         // closed at 66.009s
  EXPECT_EQ(breaker->snapshot(t0 + 126s + 9ms).trips, 0);  // healthy long enough
  trip(*breaker, t0 + 126s + 9ms);                         // exactly 60s closed: 1s again
  EXPECT_EQ(breaker->allow(t0 + 126s + 9ms).retryAfter, t0 + 127s + 9ms);
  EXPECT_EQ(breaker->snapshot(t0 + 126s + 9ms).trips, 1);
}

// Count window: the failure rate only counts from window.minimum_calls calls on, and trips once
// it reaches the threshold.
TEST(BreakerTest, CountWindowRateTripHonoursMinimumCalls) {
  auto breaker = makeOrDie(failureRateConfig(50, 10, 5));
  // F S F S: 50%, but only 4 calls.
  for (const Outcome o : {kF, kS, kF, kS}) {
    call(*breaker, o, t0);
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kS, t0 + 10ms);  // 2 of 5: 40%
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kF, t0 + 20ms);  // 3 of 6: 50%
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Even 100% failures do not trip below the minimum number of calls.
TEST(BreakerTest, RateIgnoredBelowMinimumCalls) {
  auto breaker = makeOrDie(failureRateConfig(50, 10, 10));
  EXPECT_EQ(calls(*breaker, kF, 9, t0), 9);
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kF, t0);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Count window: old calls slide out, so only the last N calls decide. Window 4, 75%:
// F F S S S F F F trips on the last F (S F F F), not before.
TEST(BreakerTest, CountWindowSlidesOldCallsOut) {
  auto breaker = makeOrDie(failureRateConfig(75, 4, 4));
  const std::vector<Outcome> outcomes = {kF, kF, kS, kS, kS, kF, kF};
  for (const Outcome o : outcomes) {
    call(*breaker, o, t0);
    ASSERT_EQ(breaker->state(), State::kClosed);
  }
  EXPECT_EQ(breaker->snapshot(t0).window, (WindowCounts{4, 2, 0}));
  call(*breaker, kF, t0);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Time window (10s in 1s buckets, 60%, minimum 4): t0's four successes dilute the failures until
// their bucket expires at t0 + 10s; then F F S F is 75% and trips.
TEST(BreakerTest, TimeWindowRateTripAsBucketsExpire) {
  Config config = failureRateConfig(60, 1, 1);
  config.window = {
      .kind = WindowConfig::Kind::kTime, .duration = 10s, .buckets = 10, .minimumCalls = 4};
  auto breaker = makeOrDie(config);

  calls(*breaker, kS, 4, t0);
  calls(*breaker, kF, 2, t0 + 5s);  // 2 of 6
  EXPECT_EQ(breaker->snapshot(t0 + 9999ms).window, (WindowCounts{6, 2, 0}));
  EXPECT_EQ(breaker->snapshot(t0 + 10s).window, (WindowCounts{2, 2, 0}));

  call(*breaker, kS, t0 + 10s);  // t0's bucket gone: F F S, below the minimum
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kF, t0 + 10s + 10ms);  // F F S F: 75%
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Time window: calls spread thinly over time never reach the minimum, however many fail.
TEST(BreakerTest, TimeWindowMinimumCallsCountsOnlyLiveCalls) {
  Config config = failureRateConfig(50, 1, 1);
  config.window = {
      .kind = WindowConfig::Kind::kTime, .duration = 10s, .buckets = 10, .minimumCalls = 3};
  auto breaker = makeOrDie(config);
  for (int i = 0; i < 20; ++i) {
    call(*breaker, kF, t0 + std::chrono::seconds(6 * i));  // at most 2 calls per 10s
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  call(*breaker, kF, t0 + 114s);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Slow calls (latency >= slow_call.duration, whatever the outcome) trip on their own rate.
TEST(BreakerTest, TripsOnSlowCallRate) {
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.slowCall = SlowCallConfig{.duration = 100ms, .threshold = 50};
  config.window = {.kind = WindowConfig::Kind::kCount, .size = 4, .minimumCalls = 4};
  auto breaker = makeOrDie(config);

  call(*breaker, kS, t0, 150ms);        // slow
  call(*breaker, kS, t0 + 10ms, 99ms);  // not slow
  call(*breaker, kS, t0 + 20ms, 10ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->snapshot(t0 + 20ms).window, (WindowCounts{3, 0, 1}));
  call(*breaker, kS, t0 + 30ms, 100ms);  // exactly the threshold: slow; 2 of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// Failures are not slow calls: fast failures do not count toward the slow-call rate.
TEST(BreakerTest, FastFailuresAreNotSlow) {
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.slowCall = SlowCallConfig{.duration = 100ms, .threshold = 50};
  config.window = {.kind = WindowConfig::Kind::kCount, .size = 4, .minimumCalls = 4};
  auto breaker = makeOrDie(config);
  calls(*breaker, kF, 10, t0, 1ms);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// In half-open, a slow probe counts as failed and reopens the breaker.
TEST(BreakerTest, SlowProbeReopens) {
  Config config = consecutiveConfig(1);
  config.slowCall = SlowCallConfig{.duration = 100ms, .threshold = 100};
  config.window.minimumCalls = 100;
  auto breaker = makeOrDie(config);
  trip(*breaker, t0);
  ASSERT_TRUE(call(*breaker, kS, t0 + 1s, 250ms));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->allow(t0 + 1s).retryAfter, t0 + 3s);
}

// Results arriving while open (calls admitted before the trip) change nothing.
TEST(BreakerTest, ResultsWhileOpenAreIgnored) {
  auto breaker = makeOrDie(consecutiveConfig(1));
  trip(*breaker, t0);
  breaker->record(kS, t0 + 10ms);
  breaker->record(kF, t0 + 20ms);
  const Decision d = breaker->allow(t0 + 30ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retryAfter, t0 + 1s);
  EXPECT_EQ(breaker->snapshot(t0 + 30ms).trips, 1);
}

// In half-open with no probe outstanding, a stray result is not mistaken for a probe's.
TEST(BreakerTest, StrayResultInHalfOpenIsIgnored) {
  Config config = consecutiveConfig(1);
  config.halfOpen.probes = 2;
  auto breaker = makeOrDie(config);
  trip(*breaker, t0);
  ASSERT_TRUE(breaker->allow(t0 + 1s).allowed);
  breaker->record(kS, t0 + 1s + 10ms);  // the probe
  breaker->record(kF, t0 + 1s + 20ms);  // stray: no probe outstanding
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->snapshot(t0 + 1s + 20ms).probeSuccesses, 1);
}

// Closing starts from a clean slate: the failures that tripped the breaker do not count again.
TEST(BreakerTest, ClosingClearsCounts) {
  Config config = failureRateConfig(50, 4, 4);
  config.consecutiveFailures = 3;
  auto breaker = makeOrDie(config);
  calls(*breaker, kF, 2, t0);
  call(*breaker, kS, t0);
  calls(*breaker, kF, 1, t0);  // F F S F: 75%
  ASSERT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->snapshot(t0).window, (WindowCounts{4, 3, 0}));

  ASSERT_TRUE(call(*breaker, kS, t0 + 1s));
  ASSERT_EQ(breaker->state(), State::kClosed);
  const Snapshot s = breaker->snapshot(t0 + 1s);
  EXPECT_EQ(s.window, WindowCounts{});
  EXPECT_EQ(s.consecutiveFailures, 0);
  calls(*breaker, kF, 2, t0 + 1s);  // would be 4 of 6 without the reset
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// Jittered open intervals are within [0, ceiling] and the same for the same seed.
TEST(BreakerTest, JitteredIntervalsAreDeterministicForASeed) {
  Config config = consecutiveConfig(1);
  config.backoff.jitter = Jitter::kFull;
  config.seed = 7;
  const auto retryAfters = [&config] {
    auto breaker = makeOrDie(config);
    std::vector<TimePoint> out;
    TimePoint now = t0;
    trip(*breaker, now);
    for (int i = 0; i < 6; ++i) {
      const TimePoint until = breaker->snapshot(now).openUntil;
      EXPECT_GE(until, now);
      EXPECT_LE(until - now, 10s);
      out.push_back(until);
      now = until;
      EXPECT_TRUE(call(*breaker, kF, now));  // probe fails: reopen
    }
    return out;
  };
  EXPECT_EQ(retryAfters(), retryAfters());
}

// snapshot() shows the state, counts and backoff position.
TEST(BreakerTest, SnapshotReportsState) {
  Config config = failureRateConfig(90, 10, 10);
  config.consecutiveFailures = 3;
  auto breaker = makeOrDie(config);
  calls(*breaker, kF, 2, t0);
  call(*breaker, kS, t0);
  Snapshot s = breaker->snapshot(t0);
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.consecutiveFailures, 0);
  EXPECT_EQ(s.window, (WindowCounts{3, 2, 0}));
  EXPECT_EQ(s.trips, 0);

  calls(*breaker, kF, 3, t0 + 10ms);
  s = breaker->snapshot(t0 + 10ms);
  EXPECT_EQ(s.state, State::kOpen);
  EXPECT_EQ(s.openUntil, t0 + 10ms + 1s);
  EXPECT_EQ(s.trips, 1);
}

}  // namespace
}  // namespace fairway::breaker
