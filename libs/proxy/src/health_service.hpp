#pragma once

#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "upstream.hpp"

namespace fairway::proxy {

// The thread that drives health off the event loops: active probes (blocking POCO HTTP requests,
// several at once when several are due), outlier-detection sweeps at the detector's schedule, and
// the end of breaker open intervals (the endpoint becomes pickable again for half-open probes).
class HealthService {
 public:
  explicit HealthService(std::vector<UpstreamGroup*> groups);
  ~HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  void start();
  void stop();
  // Thread-safe: at `until`, clear the endpoint's breaker-open verdict.
  void breakerOpened(UpstreamGroup& group, EndpointState& endpoint, TimePoint until);

 private:
  struct Reopen {
    TimePoint at;
    UpstreamGroup* group;
    EndpointState* endpoint;
    bool operator>(const Reopen& other) const { return at > other.at; }
  };

  void run();

  std::vector<UpstreamGroup*> groups_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::priority_queue<Reopen, std::vector<Reopen>, std::greater<>> reopen_;
  std::thread thread_;
};

// Runs one HTTP probe: GET target.probe.path on `host:port` with the probe's timeout.
health::ProbeResult runProbe(const std::string& host, std::uint16_t port,
                             const health::ProbeConfig& probe);

}  // namespace fairway::proxy
