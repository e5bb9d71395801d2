#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <fairway/core/time.hpp>

namespace fairway::balancer {

using core::Clock;
using core::TimePoint;

// Weights are integers in [1, kMaxWeight], as in nginx and HAProxy configurations.
inline constexpr std::int64_t kMaxWeight = 1'000'000;

// What an endpoint is, as configured: a plain value. `weight` is signed so that a negative weight
// read from a configuration file reaches validation and gets a clear error.
struct EndpointConfig {
  std::string id;       // unique within a balancer, non-empty
  std::string address;  // free-form to the balancer ("10.0.0.7:8080"); the proxy resolves it
  std::int64_t weight = 1;
  bool available = true;
};

// A live endpoint inside a Balancer. The balancer owns it; callers see it through a Pick and must
// not keep the pointer past Balancer::release(). Counters are atomics read without locks.
class Endpoint {
 public:
  Endpoint(std::string id, std::string address)
      : id_(std::move(id)), address_(std::move(address)) {}
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const std::string& id() const { return id_; }
  const std::string& address() const { return address_; }
  // Requests picked and not yet released. Survives membership, weight and availability changes.
  std::int64_t inFlight() const { return inFlight_.load(std::memory_order_relaxed); }
  // Peak-EWMA latency in nanoseconds as last recorded (0 before the first observation), and the
  // instant of that observation.
  double latencyEwmaNs() const { return ewmaNs_.load(std::memory_order_relaxed); }
  TimePoint latencyStamp() const {
    return TimePoint(Clock::duration(ewmaStamp_.load(std::memory_order_relaxed)));
  }

 private:
  friend class Balancer;
  friend class EndpointAccess;

  const std::string id_;
  const std::string address_;
  // Written only under the owning balancer's update lock.
  std::int64_t weight_ = 1;
  bool available_ = true;
  TimePoint rampStart_{};  // slow start: when it last became available (if ramping)
  bool ramping_ = false;

  // Hot counters on their own cache line, away from the immutable strings.
  alignas(64) std::atomic<std::int64_t> inFlight_{0};
  std::atomic<double> ewmaNs_{0.0};
  std::atomic<Clock::rep> ewmaStamp_{0};
  std::atomic_flag ewmaLock_;
};

// An endpoint's state for observability (admin /backends, the simulator's reports).
struct EndpointStatus {
  std::string id;
  std::string address;
  std::int64_t weight = 0;
  double effectiveWeight = 0;  // weight after slow start, as used by the latest pick snapshot
  bool available = false;
  bool rampingUp = false;
  std::int64_t inFlight = 0;
  double latencyEwmaMs = 0;
};

}  // namespace fairway::balancer
