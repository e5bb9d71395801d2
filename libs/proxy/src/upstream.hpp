#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unordered_map>
#include <vector>

#include <fairway/balancer/balancer.hpp>
#include <fairway/breaker/breaker.hpp>
#include <fairway/core/time.hpp>
#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>
#include <fairway/proxy/config.hpp>

#include "event_log.hpp"

namespace fairway::proxy {

using core::Clock;
using core::TimePoint;

// Counters one thread writes and any thread reads (relaxed): a single writer needs no atomic
// read-modify-write, so an increment is a plain load and store.
struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// One backend of an upstream group, shared by every worker: its resolved address, its breaker and
// the three verdicts whose conjunction is its availability to the balancer.
struct EndpointState {
  std::size_t index = 0;  // in UpstreamGroup::endpoints()
  BackendConfig config;
  std::string id;
  sockaddr_storage address{};
  socklen_t addressSize = 0;
  std::unique_ptr<breaker::Breaker> breaker;  // null when breakers are off
  std::atomic<bool> healthUp{true};           // active checks
  std::atomic<bool> ejected{false};           // outlier detection
  std::atomic<bool> breakerOpen{false};       // the breaker is open (not half-open)
  bool availableInBalancer = true;            // guarded by UpstreamGroup::availabilityMutex_
  // Totals across workers (atomic RMW: several workers write).
  std::atomic<std::uint64_t> requests{0}, failures{0}, connectFailures{0};
};

// An upstream group at run time: the balancer over its endpoints, a breaker per endpoint, active
// and passive health, and the glue between them (availability = health up AND not ejected AND
// breaker not open). Shared by all workers; thread-safe.
class UpstreamGroup {
 public:
  // Resolves every backend's host (once, at start) and builds the policies. Errors name the
  // backend and the reason.
  static std::unique_ptr<UpstreamGroup> make(const UpstreamConfig& config, std::size_t index,
                                             TimePoint now, std::string& error);
  ~UpstreamGroup();

  const UpstreamConfig& config() const { return config_; }
  std::size_t index() const { return index_; }
  balancer::Balancer& balancer() { return *balancer_; }
  std::vector<std::unique_ptr<EndpointState>>& endpoints() { return endpoints_; }
  EndpointState* endpointOf(const balancer::Endpoint* endpoint) const;
  health::HealthChecker* checker() const { return checker_.get(); }
  health::OutlierDetector& outliers() const { return *outliers_; }

  // Recomputes one endpoint's availability from its three verdicts and tells the balancer.
  void refreshAvailability(EndpointState& endpoint, TimePoint now);

  // A half-open breaker refused a call (every probe slot taken): the endpoint is unpickable until
  // a probe's outcome is recorded, or least-loaded algorithms would choose it again and again.
  void probeSlotsFull(EndpointState& endpoint, TimePoint now);
  // After any record() on the endpoint's breaker: a freed probe slot makes it pickable again.
  void breakerRecorded(EndpointState& endpoint, TimePoint now);

  // Retry budget (Envoy's): a retry may start while retries in flight stay within
  // max(min_retries_in_flight, budget_percent × active requests).
  bool tryStartRetry();
  void endRetry() { activeRetries_.fetch_sub(1, std::memory_order_relaxed); }
  void startRequest() { activeRequests_.fetch_add(1, std::memory_order_relaxed); }
  void endRequest() { activeRequests_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t activeRequests() const { return activeRequests_.load(std::memory_order_relaxed); }

  // Set by the health service: called with (endpoint, time the open interval ends) when a
  // breaker opens, so that the endpoint becomes available again for half-open probes.
  void setBreakerOpenedHook(std::function<void(EndpointState&, TimePoint)> hook) {
    breakerOpened_ = std::move(hook);
  }
  // Where health and breaker transitions are told (log.error). Before the workers start.
  void setEventLog(std::shared_ptr<EventLog> log) { log_ = std::move(log); }

 private:
  class BreakerObserver;
  class HealthObserver;
  UpstreamGroup() = default;

  UpstreamConfig config_;
  std::size_t index_ = 0;
  std::unique_ptr<balancer::Balancer> balancer_;
  std::vector<std::unique_ptr<EndpointState>> endpoints_;
  std::unordered_map<std::string_view, EndpointState*> byId_;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<health::OutlierDetector> outliers_;
  std::mutex availabilityMutex_;
  std::atomic<std::int64_t> activeRequests_{0};
  std::atomic<std::int64_t> activeRetries_{0};
  std::function<void(EndpointState&, TimePoint)> breakerOpened_;
  std::shared_ptr<EventLog> log_;
  void logEvent(Poco::Message::Priority priority, const EndpointState& endpoint,
                const std::string& what) const;
};

}  // namespace fairway::proxy
