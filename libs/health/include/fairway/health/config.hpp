#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <fairway/health/prober.hpp>
#include <fairway/health/status.hpp>

namespace fairway::health {

// The state an endpoint starts in when it is added, as HAProxy's `init-state`.
enum class InitialState {
  kUp,         // up, but the first failed probe takes it down (HAProxy's default `up`)
  kFullyUp,    // up; `fall` failed probes in a row take it down (`fully-up`)
  kDown,       // down, but the first successful probe brings it up (`down`)
  kFullyDown,  // down; `rise` successful probes in a row bring it up (`fully-down`)
};

// Active health checking (HAProxy `check inter rise fall fastinter downinter`). YAML section
// `health_check`; each field's key is its snake_case name. Defaults: the original design's
// example (`interval: 30s, timeout: 10s, path: "/health"`) and HAProxy's rise 2, fall 3.
struct HealthCheckConfig {
  ProbeConfig probe;  // path, expected statuses, timeout (health_check.path, ...)
  // Successful probes in a row that take a down endpoint up, and failed probes in a row that take
  // an up endpoint down; each >= 1.
  int rise = 2;
  int fall = 3;
  // Time from one probe's result to the next probe, > 0.
  std::chrono::nanoseconds interval = std::chrono::seconds(30);
  // While a change is in progress: after a result that disagrees with the current state, until
  // the state changes or a result agrees again (HAProxy `fastinter`). Unset: `interval`.
  std::optional<std::chrono::nanoseconds> fastInterval;
  // While down with no success pending (HAProxy `downinter`). Unset: `interval`.
  std::optional<std::chrono::nanoseconds> downInterval;
  // Each delay is scaled by a uniform factor in [1 - p/100, 1 + p/100], p in [0, 50] (HAProxy's
  // `spread-checks`); the first probe of an endpoint comes up to p% of an interval after it is
  // added. 0: no jitter, the first probe is due at once.
  double jitterPercent = 0.0;
  InitialState initialState = InitialState::kUp;
  // Each endpoint's jitter comes from its own generator, seeded from this and its id: same seed,
  // same schedule, whatever the other endpoints do.
  std::uint64_t seed = 0x5eed;
};

// Passive checking: outlier detection on real traffic, with Envoy's semantics
// (envoy.config.cluster.v3.OutlierDetection, non-split mode: connect failures, resets and
// timeouts count as 5xx and as gateway failures). YAML section `outlier`; each key is the field's
// snake_case name. Defaults are Envoy's.
struct OutlierConfig {
  // Failure-percentage windows, and the step of ejection-count decay; > 0.
  std::chrono::nanoseconds interval = std::chrono::seconds(10);
  // An ejection lasts baseEjectionTime × (ejections counted for the endpoint), at most
  // maxEjectionTime. base > 0, max >= base.
  std::chrono::nanoseconds baseEjectionTime = std::chrono::seconds(30);
  std::chrono::nanoseconds maxEjectionTime = std::chrono::seconds(300);
  // At most this share of the endpoints is ejected at once, in [0, 100]: an ejection happens only
  // if (ejected + 1) × 100 <= maxEjectionPercent × endpoints, i.e. at most
  // floor(endpoints × percent / 100) endpoints (10 endpoints at 20%: 2; 5 at 10%: none).
  double maxEjectionPercent = 10.0;
  // Allow one ejection when none is in force even if the cap above rounds down to zero (Envoy's
  // `always_eject_one_host`, off by default as there).
  bool alwaysEjectOneHost = false;
  // Server errors (5xx, connect failure, reset, timeout) in a row that eject; 0 disables.
  int consecutive5xx = 5;
  // Gateway failures (502, 503, 504, connect failure, reset, timeout) in a row that eject;
  // 0 disables. Off by default (Envoy's enforcing_consecutive_gateway_failure is 0): set it below
  // consecutive5xx to react faster to unreachable endpoints than to failing applications.
  int consecutiveGatewayFailure = 0;
  // Eject an endpoint whose failures over one interval reach this share, in [0, 100], if it saw
  // at least failurePercentageRequestVolume (>= 1) requests and at least
  // failurePercentageMinimumHosts (>= 0) endpoints did. 0 disables (Envoy enforces it only when
  // enforcing_failure_percentage is set, which defaults to 0; its threshold defaults to 85).
  double failurePercentageThreshold = 0.0;
  int failurePercentageMinimumHosts = 5;
  int failurePercentageRequestVolume = 50;
};

// Checks every field; the error message names the first bad one by its YAML key, the reason and
// the value: "health_check.rise: must be >= 1 (got 0)". make...() call these.
Status validate(const HealthCheckConfig& config);
Status validate(const OutlierConfig& config);

}  // namespace fairway::health
