#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace fairway::health {

// HTTP statuses [from, to], both included.
struct StatusRange {
  int from = 200;
  int to = 399;
};

// What one active probe does: GET `path`, pass when the status is in one of `expectedStatuses`
// before `timeout`. YAML keys: health_check.path, .expected_statuses, .timeout.
struct ProbeConfig {
  std::string path = "/health";  // starts with '/'
  // Non-empty, each range within [100, 599]. The default accepts 2xx and 3xx, as HAProxy's
  // `option httpchk` does. (Not `= {{200, 399}}`: GCC 12 warns falsely about that form.)
  std::vector<StatusRange> expectedStatuses = std::vector<StatusRange>(1, StatusRange{200, 399});
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);  // > 0

  // True when `status` is in one of the expected ranges.
  bool accepts(int status) const;
};

// One probe to run: which endpoint, where, and how.
struct ProbeTarget {
  std::string endpoint;  // the endpoint's id, to hand back to HealthChecker::recordProbe
  std::string address;   // as given to HealthChecker::add ("10.0.0.7:8080"); free-form here
  ProbeConfig probe;
};

// How one probe ended.
struct ProbeResult {
  bool success = false;
  std::chrono::nanoseconds latency{0};  // from sending the request to the verdict
  int statusCode = 0;                   // the HTTP status, 0 when no response arrived
  std::string reason;                   // why it failed: "timeout", "connection refused", ...
};

// The seam that performs probes: the proxy implements it with its own sockets, the simulator
// with fake backends. The library only schedules probes and interprets their results.
class Prober {
 public:
  using Callback = std::function<void(ProbeResult result)>;

  virtual ~Prober() = default;

  // Starts one probe of `target` and returns without waiting for it. Calls `done` exactly once,
  // from any thread (possibly before returning), no later than `target.probe.timeout` after the
  // start plus scheduling delay: a probe that runs out of time is a failure with reason
  // "timeout". Must be thread-safe. May read a clock to enforce the timeout; `latency` reports
  // what it measured. `done` must not be called after the HealthChecker that started the probe
  // is destroyed: stop the prober first.
  virtual void probe(const ProbeTarget& target, Callback done) = 0;
};

}  // namespace fairway::health
