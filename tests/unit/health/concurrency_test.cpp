// Both components under concurrent use: bounded loops on a few threads, then checks that the
// event stream and the final state agree. No sleeps; every thread does a fixed amount of work.

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;
using test::t0;

constexpr int kThreads = 4;

// Per endpoint, events must alternate between leaving and returning to kUp, starting with a
// departure: the stream is in change order.
void expectAlternating(const std::vector<HealthEvent>& events) {
  std::map<std::string, HealthState> state;
  for (const HealthEvent& e : events) {
    auto [it, fresh] = state.try_emplace(e.endpoint, HealthState::kUp);
    ASSERT_EQ(e.from, it->second) << e.endpoint;
    ASSERT_NE(e.to, e.from) << e.endpoint;
    it->second = e.to;
  }
}

// Threads record outcomes for 20 endpoints, half of them failing often, with time moving on;
// one thread also runs update(). Ejections never exceed the cap, the event stream alternates per
// endpoint and matches the final state and the ejection counts.
TEST(ConcurrencyTest, OutlierDetectorUnderConcurrentOutcomes) {
  OutlierConfig config;
  config.consecutive5xx = 3;
  config.consecutiveGatewayFailure = 2;
  config.maxEjectionPercent = 30;
  config.baseEjectionTime = 50ms;
  config.maxEjectionTime = 200ms;
  config.interval = 20ms;
  config.failurePercentageThreshold = 60;
  config.failurePercentageRequestVolume = 5;
  config.failurePercentageMinimumHosts = 2;
  auto detector = test::makeDetector(config, 20);
  auto recorder = test::observe(*detector);
  std::atomic<int> maxSeen{0};
  struct CapWatcher final : Observer {
    CapWatcher(OutlierDetector& d, std::atomic<int>& m) : detector(d), maxSeen(m) {}
    void onHealthChange(const HealthEvent&) override {
      const int now = static_cast<int>(detector.ejectedCount());
      int seen = maxSeen.load();
      while (now > seen && !maxSeen.compare_exchange_weak(seen, now)) {
      }
    }
    OutlierDetector& detector;
    std::atomic<int>& maxSeen;
  };
  detector->subscribe(std::make_shared<CapWatcher>(*detector, maxSeen));

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Random random(static_cast<std::uint64_t>(t) + 1);
      for (int i = 0; i < 20'000; ++i) {
        const TimePoint now = t0 + i * 100us;
        const auto e = random.below(20);
        const bool failing = e % 2 == 0 && random.below(4) != 0;
        const Outcome outcome =
            failing ? (random.below(2) == 0 ? Outcome::response(503) : Outcome::response(500))
                    : Outcome::response(200);
        detector->recordOutcome("e" + std::to_string(e), outcome, now);
        if (t == 0 && i % 50 == 0) {
          detector->update(now);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  EXPECT_LE(maxSeen.load(), 6);  // 30% of 20
  const std::vector<HealthEvent> events = recorder->events();
  expectAlternating(events);
  std::map<std::string, int> ejections;
  std::map<std::string, HealthState> last;
  for (const HealthEvent& e : events) {
    ejections[e.endpoint] += e.to == HealthState::kEjected ? 1 : 0;
    last[e.endpoint] = e.to;
  }
  std::uint64_t total = 0;
  for (const OutlierStatus& s : detector->endpoints()) {
    EXPECT_EQ(s.ejections, static_cast<std::uint64_t>(ejections[s.id])) << s.id;
    EXPECT_EQ(s.ejected, last.contains(s.id) && last[s.id] == HealthState::kEjected) << s.id;
    total += s.ejections;
  }
  EXPECT_GT(total, 10u);  // the failing half was ejected again and again
}

// Threads feed probe results while another adds and removes endpoints and hands out due probes.
// Per endpoint the events alternate, and the final states match the last event of each endpoint
// that was never removed.
TEST(ConcurrencyTest, HealthCheckerUnderConcurrentResults) {
  HealthCheckConfig config;
  config.rise = 2;
  config.fall = 2;
  config.interval = 1s;
  config.fastInterval = 100ms;
  config.initialState = InitialState::kFullyUp;
  auto checker = test::makeChecker(config);
  auto recorder = test::observe(*checker);
  for (int e = 0; e < 10; ++e) {
    ASSERT_TRUE(checker->add("e" + std::to_string(e), "", t0).ok());
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads - 1; ++t) {
    threads.emplace_back([&, t] {
      Random random(static_cast<std::uint64_t>(t) + 7);
      for (int i = 0; i < 5'000; ++i) {
        const std::string id = "e" + std::to_string(random.below(10));
        const ProbeResult result = random.below(3) == 0 ? test::failed() : test::passed();
        (void)checker->recordProbe(id, result, t0 + i * 1ms);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 2'000; ++i) {
      const std::string id = "x" + std::to_string(i % 5);
      (void)checker->add(id, "", t0 + i * 1ms);
      (void)checker->takeDueProbes(t0 + i * 1ms);
      (void)checker->remove(id);
    }
  });
  for (std::thread& thread : threads) {
    thread.join();
  }

  const std::vector<HealthEvent> events = recorder->events();
  expectAlternating(events);
  EXPECT_GT(events.size(), 10u);
  std::map<std::string, HealthState> last;
  for (const HealthEvent& e : events) {
    last[e.endpoint] = e.to;
  }
  for (int e = 0; e < 10; ++e) {
    const std::string id = "e" + std::to_string(e);
    const HealthState expected = last.contains(id) ? last[id] : HealthState::kUp;
    EXPECT_EQ(checker->state(id), expected) << id;
  }
  EXPECT_EQ(checker->size(), 10u);
}

}  // namespace
}  // namespace fairway::health
