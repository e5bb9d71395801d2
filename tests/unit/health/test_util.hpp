#pragma once

// Shared by the health tests: fixed instants, probe results, recording observers, and builders
// for configurations the tests know to be valid.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>

namespace fairway::health::test {

using namespace std::chrono_literals;

// Every test's timeline starts here; nothing reads a clock.
inline const TimePoint t0 = TimePoint(std::chrono::hours(1));

inline ProbeResult passed(int status = 200) {
  return {.success = true, .latency = 2ms, .statusCode = status, .reason = {}};
}

inline ProbeResult failed(std::string reason = "timeout") {
  return {.success = false, .latency = 10ms, .statusCode = 0, .reason = std::move(reason)};
}

// make...() for configurations the test knows to be valid: a failure is a broken test.
template <typename T>
T orDie(Result<T> result) {
  if (!result) {
    std::fprintf(stderr, "make failed: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

inline std::unique_ptr<HealthChecker> makeChecker(const HealthCheckConfig& config) {
  return orDie(makeHealthChecker(config));
}

inline std::unique_ptr<OutlierDetector> makeDetector(const OutlierConfig& config) {
  return orDie(makeOutlierDetector(config));
}

// A detector with endpoints "e0", "e1", ... already added.
inline std::unique_ptr<OutlierDetector> makeDetector(const OutlierConfig& config, int endpoints) {
  auto detector = makeDetector(config);
  for (int i = 0; i < endpoints; ++i) {
    if (!detector->add("e" + std::to_string(i)).ok()) {
      std::abort();
    }
  }
  return detector;
}

// Records `n` outcomes for `id` at `now`.
inline void record(OutlierDetector& detector, const std::string& id, Outcome outcome, int n,
                   TimePoint now) {
  for (int i = 0; i < n; ++i) {
    detector.recordOutcome(id, outcome, now);
  }
}

// Keeps every event it is given, in order. Thread-safe.
class RecordingObserver final : public Observer {
 public:
  // fairway::health::Observer
  void onHealthChange(const HealthEvent& event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
  }

  std::vector<HealthEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<HealthEvent> events_;
};

inline std::shared_ptr<RecordingObserver> observe(HealthChecker& checker) {
  auto observer = std::make_shared<RecordingObserver>();
  checker.subscribe(observer);
  return observer;
}

inline std::shared_ptr<RecordingObserver> observe(OutlierDetector& detector) {
  auto observer = std::make_shared<RecordingObserver>();
  detector.subscribe(observer);
  return observer;
}

}  // namespace fairway::health::test

namespace fairway::health {

// Readable gtest failures: {b, up -> ejected, consecutive_5xx, t0+2s}.
inline void PrintTo(const HealthEvent& e, std::ostream* os) {
  *os << "{" << e.endpoint << ", " << name(e.from) << " -> " << name(e.to) << ", " << name(e.reason)
      << ", t0+" << std::chrono::duration<double>(e.at - test::t0).count() << "s}";
}

}  // namespace fairway::health
