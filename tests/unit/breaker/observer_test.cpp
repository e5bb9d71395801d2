#include <memory>
#include <string>
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
using test::RecordingObserver;
using test::t0;

constexpr Outcome kS = Outcome::kSuccess;
constexpr Outcome kF = Outcome::kFailure;

using Timeline = std::vector<std::string>;

// A whole cycle, in order, with the instants of the calls that caused each transition:
// trip, half-open, failed probe, half-open, successful probe.
TEST(BreakerObserverTest, ReceivesEveryTransitionInOrder) {
  auto observer = std::make_shared<RecordingObserver>();
  auto breaker = makeOrDie(consecutiveConfig(2), {observer});

  calls(*breaker, kF, 2, t0 + 10ms);  // trips: open 1s
  EXPECT_FALSE(breaker->allow(t0 + 500ms).allowed);
  call(*breaker, kF, t0 + 1010ms);  // half-open, probe fails: open 2s
  call(*breaker, kS, t0 + 3010ms);  // half-open, probe succeeds: closed

  EXPECT_EQ(observer->timeline(), (Timeline{
                                      "closed>open@10ms consecutive_failures",
                                      "open>half_open@1010ms open_interval_elapsed",
                                      "half_open>open@1010ms probe_failed",
                                      "open>half_open@3010ms open_interval_elapsed",
                                      "half_open>closed@3010ms probes_succeeded",
                                  }));
}

// Opening transitions carry the interval and the consecutive trip number; others carry zero.
TEST(BreakerObserverTest, OpeningTransitionsCarryIntervalAndTrip) {
  auto observer = std::make_shared<RecordingObserver>();
  auto breaker = makeOrDie(consecutiveConfig(1), {observer});
  call(*breaker, kF, t0);
  call(*breaker, kF, t0 + 1s);
  call(*breaker, kS, t0 + 3s);

  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 5U);
  EXPECT_EQ(t[0].openFor, 1s);
  EXPECT_EQ(t[0].trip, 1);
  EXPECT_EQ(t[1].openFor, 0s);
  EXPECT_EQ(t[1].trip, 0);
  EXPECT_EQ(t[2].openFor, 2s);
  EXPECT_EQ(t[2].trip, 2);
  EXPECT_EQ(t[4].to, State::kClosed);
  EXPECT_EQ(t[4].openFor, 0s);
}

// Each reason comes with a readable detail naming the figures behind it.
TEST(BreakerObserverTest, DetailsExplainTheReason) {
  auto observer = std::make_shared<RecordingObserver>();
  Config config = consecutiveConfig(3);
  config.halfOpen.probes = 2;
  auto breaker = makeOrDie(config, {observer});
  calls(*breaker, kF, 3, t0);
  calls(*breaker, kS, 2, t0 + 1s);

  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t[0].detail, "3 consecutive failures (threshold 3)");
  EXPECT_EQ(t[1].detail, "open interval of 1s elapsed");
  EXPECT_EQ(t[2].detail, "2 of 2 probes succeeded");
}

// The rate conditions report the rate, the threshold and the window.
TEST(BreakerObserverTest, RateDetails) {
  auto observer = std::make_shared<RecordingObserver>();
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.failureRate = FailureRateConfig{.threshold = 50};
  config.slowCall = SlowCallConfig{.duration = 100ms, .threshold = 50};
  config.window = {.kind = WindowConfig::Kind::kCount, .size = 4, .minimumCalls = 4};
  auto breaker = makeOrDie(config, {observer});

  calls(*breaker, kF, 1, t0);
  calls(*breaker, kS, 3, t0, 1ms);  // F S S S: 25%
  calls(*breaker, kF, 1, t0);       // S S S F: 25%
  calls(*breaker, kF, 1, t0);       // S S F F: 50%, trips
  ASSERT_EQ(breaker->state(), State::kOpen);
  call(*breaker, kS, t0 + 1s);             // probe: closes
  calls(*breaker, kS, 4, t0 + 2s, 200ms);  // 4 slow of 4

  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 4U);
  EXPECT_EQ(t[0].reason, Reason::kFailureRate);
  EXPECT_EQ(t[0].detail, "failure rate 50% >= 50% over the last 4 calls");
  EXPECT_EQ(t[3].reason, Reason::kSlowCallRate);
  EXPECT_EQ(t[3].detail, "slow-call rate 100% >= 50% over the last 4 calls (slow: >= 100ms)");
}

// A time window's detail names its duration; a slow probe's names its latency.
TEST(BreakerObserverTest, TimeWindowAndSlowProbeDetails) {
  auto observer = std::make_shared<RecordingObserver>();
  Config config = consecutiveConfig(1);
  config.consecutiveFailures.reset();
  config.failureRate = FailureRateConfig{.threshold = 100};
  config.slowCall = SlowCallConfig{.duration = 100ms, .threshold = 100};
  config.window = {
      .kind = WindowConfig::Kind::kTime, .duration = 30s, .buckets = 3, .minimumCalls = 2};
  auto breaker = makeOrDie(config, {observer});
  calls(*breaker, kF, 2, t0);
  call(*breaker, kS, t0 + 1s, 150ms);

  const std::vector<Transition> t = observer->transitions();
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t[0].detail, "failure rate 100% >= 100% over 2 calls in the last 30s");
  EXPECT_EQ(t[2].reason, Reason::kProbeSlow);
  EXPECT_EQ(t[2].detail, "a probe took 150ms (slow: >= 100ms)");
}

// Every observer receives every transition; observers are called in registration order.
TEST(BreakerObserverTest, SeveralObserversEachReceiveAll) {
  struct Tagging : Observer {
    Tagging(std::string tag, std::shared_ptr<std::vector<std::string>> log)
        : tag_(std::move(tag)), log_(std::move(log)) {}
    // fairway::breaker::Observer
    void onTransition(const Transition& t) override {
      log_->push_back(tag_ + ":" + std::string(toString(t.to)));
    }
    std::string tag_;
    std::shared_ptr<std::vector<std::string>> log_;
  };
  auto log = std::make_shared<std::vector<std::string>>();
  auto breaker = makeOrDie(consecutiveConfig(1), {std::make_shared<Tagging>("a", log),
                                                  std::make_shared<Tagging>("b", log)});
  call(*breaker, kF, t0);
  call(*breaker, kS, t0 + 1s);
  EXPECT_EQ(*log,
            (Timeline{"a:open", "b:open", "a:half_open", "b:half_open", "a:closed", "b:closed"}));
}

// Observers run outside the lock: one may call back into the breaker, and a transition it causes
// is delivered after the one being handled, keeping the order.
TEST(BreakerObserverTest, ObserverMayCallBackIntoBreaker) {
  struct FailingProbe : RecordingObserver {
    // fairway::breaker::Observer
    void onTransition(const Transition& t) override {
      RecordingObserver::onTransition(t);
      seen.push_back(breaker->snapshot(t.at).state);
      if (t.to == State::kHalfOpen && !failedOnce) {
        failedOnce = true;
        breaker->record(Outcome::kFailure, t.at);  // the probe admitted by that allow() fails
      }
    }
    Breaker* breaker = nullptr;
    bool failedOnce = false;
    std::vector<State> seen;
  };
  auto observer = std::make_shared<FailingProbe>();
  auto breaker = makeOrDie(consecutiveConfig(1), {observer});
  observer->breaker = breaker.get();

  call(*breaker, kF, t0);
  EXPECT_TRUE(breaker->allow(t0 + 1s).allowed);  // half-open; the observer fails the probe
  EXPECT_EQ(breaker->state(), State::kOpen);

  EXPECT_EQ(observer->timeline(), (Timeline{
                                      "closed>open@0s consecutive_failures",
                                      "open>half_open@1s open_interval_elapsed",
                                      "half_open>open@1s probe_failed",
                                  }));
  EXPECT_EQ(observer->seen, (std::vector<State>{State::kOpen, State::kHalfOpen, State::kOpen}));
}

// Without transitions, observers hear nothing: calls in the closed state are silent.
TEST(BreakerObserverTest, NoTransitionNoCall) {
  auto observer = std::make_shared<RecordingObserver>();
  auto breaker = makeOrDie(consecutiveConfig(5), {observer});
  calls(*breaker, kF, 4, t0);
  calls(*breaker, kS, 100, t0);
  EXPECT_TRUE(observer->transitions().empty());
}

// The names used in logs and metric labels.
TEST(BreakerObserverTest, NamesAreSnakeCase) {
  EXPECT_EQ(toString(State::kClosed), "closed");
  EXPECT_EQ(toString(State::kOpen), "open");
  EXPECT_EQ(toString(State::kHalfOpen), "half_open");
  EXPECT_EQ(toString(Reason::kConsecutiveFailures), "consecutive_failures");
  EXPECT_EQ(toString(Reason::kFailureRate), "failure_rate");
  EXPECT_EQ(toString(Reason::kSlowCallRate), "slow_call_rate");
  EXPECT_EQ(toString(Reason::kOpenIntervalElapsed), "open_interval_elapsed");
  EXPECT_EQ(toString(Reason::kProbesSucceeded), "probes_succeeded");
  EXPECT_EQ(toString(Reason::kProbeFailed), "probe_failed");
  EXPECT_EQ(toString(Reason::kProbeSlow), "probe_slow");
}

}  // namespace
}  // namespace fairway::breaker
