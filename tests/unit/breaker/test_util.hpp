#pragma once

// Shared by the breaker tests: fixed instants, building breakers, recording runs of outcomes and
// collecting transitions.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <fairway/breaker/breaker.hpp>

namespace fairway::breaker {

// Lets GoogleTest print counts in failure messages: {calls, failures, slow calls}.
inline void PrintTo(const WindowCounts& counts, std::ostream* os) {
  *os << "{calls " << counts.calls << ", failures " << counts.failures << ", slow "
      << counts.slowCalls << "}";
}

}  // namespace fairway::breaker

namespace fairway::breaker::test {

using namespace std::chrono_literals;

// Every test's timeline starts here; nothing reads a clock.
inline const TimePoint t0 = TimePoint(std::chrono::hours(1));

// A config with one trip condition, consecutive failures, and an exact (jitter-free) backoff of
// 1s, 2s, 4s, ... capped at 10s; tests add or change what they pin down.
inline Config consecutiveConfig(std::int64_t failures) {
  Config config;
  config.consecutiveFailures = failures;
  config.backoff = {
      .base = 1s, .multiplier = 2.0, .max = 10s, .jitter = Jitter::kNone, .resetAfter = 60s};
  return config;
}

// make() for configurations the test knows to be valid: a failure is a broken test.
inline std::unique_ptr<Breaker> makeOrDie(const Config& config,
                                          std::vector<std::shared_ptr<Observer>> observers = {}) {
  auto result = make(config, std::move(observers));
  if (!result) {
    std::fprintf(stderr, "make() failed: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

// allow() then record(): one admitted call, or none if rejected. Returns whether it was admitted.
inline bool call(Breaker& breaker, Outcome outcome, TimePoint now, Duration latency = 1ms) {
  if (!breaker.allow(now)) {
    return false;
  }
  breaker.record(outcome, latency, now);
  return true;
}

// `n` admitted calls with `outcome` at `now`; returns how many were admitted.
inline int calls(Breaker& breaker, Outcome outcome, int n, TimePoint now, Duration latency = 1ms) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) {
    admitted += call(breaker, outcome, now, latency) ? 1 : 0;
  }
  return admitted;
}

// Keeps every transition it receives. Thread-safe.
class RecordingObserver : public Observer {
 public:
  // fairway::breaker::Observer
  void onTransition(const Transition& transition) override {
    std::lock_guard lock(mutex_);
    transitions_.push_back(transition);
  }

  std::vector<Transition> transitions() const {
    std::lock_guard lock(mutex_);
    return transitions_;
  }

  // "closed>open@0ms consecutive_failures", one per transition, with times from t0.
  std::vector<std::string> timeline() const {
    std::vector<std::string> out;
    for (const Transition& t : transitions()) {
      out.push_back(std::string(toString(t.from)) + ">" + std::string(toString(t.to)) + "@" +
                    formatDuration(t.at - t0) + " " + std::string(toString(t.reason)));
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Transition> transitions_;
};

}  // namespace fairway::breaker::test
