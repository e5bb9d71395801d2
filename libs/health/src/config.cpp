#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <fairway/health/config.hpp>
#include <fairway/health/prober.hpp>

namespace fairway::health {
namespace {

using std::chrono::nanoseconds;

// Longer than anyone configures, short enough that `now` + it × a few never overflows.
constexpr nanoseconds kMaxDuration = std::chrono::hours(24 * 365);

// "2h", "5m", "30s", "250ms", "1500us", "7ns": the largest unit that shows the value exactly.
std::string format(nanoseconds d) {
  const auto n = d.count();
  constexpr std::int64_t kMinute = 60'000'000'000;
  if (n != 0 && n % (60 * kMinute) == 0) {
    return std::to_string(n / (60 * kMinute)) + "h";
  }
  if (n != 0 && n % kMinute == 0) {
    return std::to_string(n / kMinute) + "m";
  }
  if (n != 0 && n % 1'000'000'000 == 0) {
    return std::to_string(n / 1'000'000'000) + "s";
  }
  if (n != 0 && n % 1'000'000 == 0) {
    return std::to_string(n / 1'000'000) + "ms";
  }
  if (n != 0 && n % 1'000 == 0) {
    return std::to_string(n / 1'000) + "us";
  }
  return std::to_string(n) + "ns";
}

std::string format(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

Error invalid(const std::string& key, const std::string& rule, const std::string& got) {
  return Error{ErrorCode::kInvalidArgument, key + ": " + rule + " (got " + got + ")"};
}

Status positive(const std::string& key, nanoseconds d) {
  if (d.count() <= 0) {
    return invalid(key, "must be > 0", format(d));
  }
  if (d > kMaxDuration) {
    return invalid(key, "must be at most 8760h", format(d));
  }
  return {};
}

Status atLeast(const std::string& key, int value, int minimum) {
  if (value < minimum) {
    return invalid(key, "must be >= " + std::to_string(minimum), std::to_string(value));
  }
  return {};
}

// NaN fails too.
Status within(const std::string& key, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    return invalid(key, "must be in [" + format(low) + ", " + format(high) + "]", format(value));
  }
  return {};
}

}  // namespace

bool ProbeConfig::accepts(int status) const {
  for (const StatusRange& range : expectedStatuses) {
    if (status >= range.from && status <= range.to) {
      return true;
    }
  }
  return false;
}

Status validate(const HealthCheckConfig& config) {
  const ProbeConfig& probe = config.probe;
  if (probe.path.empty() || probe.path.front() != '/') {
    return invalid("health_check.path", "must start with '/'", "\"" + probe.path + "\"");
  }
  if (probe.expectedStatuses.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "health_check.expected_statuses: must list at least one status range"};
  }
  for (std::size_t i = 0; i < probe.expectedStatuses.size(); ++i) {
    const StatusRange& range = probe.expectedStatuses[i];
    if (range.from < 100 || range.to > 599 || range.from > range.to) {
      return invalid("health_check.expected_statuses[" + std::to_string(i) + "]",
                     "must be a range from <= to within [100, 599]",
                     std::to_string(range.from) + "-" + std::to_string(range.to));
    }
  }
  for (const Status& s :
       {positive("health_check.timeout", probe.timeout),
        atLeast("health_check.rise", config.rise, 1), atLeast("health_check.fall", config.fall, 1),
        positive("health_check.interval", config.interval)}) {
    if (!s) {
      return s;
    }
  }
  if (config.fastInterval) {
    if (Status s = positive("health_check.fast_interval", *config.fastInterval); !s) {
      return s;
    }
  }
  if (config.downInterval) {
    if (Status s = positive("health_check.down_interval", *config.downInterval); !s) {
      return s;
    }
  }
  if (Status s = within("health_check.jitter_percent", config.jitterPercent, 0, 50); !s) {
    return s;
  }
  switch (config.initialState) {
    case InitialState::kUp:
    case InitialState::kFullyUp:
    case InitialState::kDown:
    case InitialState::kFullyDown:
      return {};
  }
  return invalid("health_check.initial_state", "must be up, fully_up, down or fully_down",
                 std::to_string(static_cast<int>(config.initialState)));
}

Status validate(const OutlierConfig& config) {
  for (const Status& s :
       {positive("outlier.interval", config.interval),
        positive("outlier.base_ejection_time", config.baseEjectionTime),
        positive("outlier.max_ejection_time", config.maxEjectionTime),
        within("outlier.max_ejection_percent", config.maxEjectionPercent, 0, 100),
        atLeast("outlier.consecutive_5xx", config.consecutive5xx, 0),
        atLeast("outlier.consecutive_gateway_failure", config.consecutiveGatewayFailure, 0),
        within("outlier.failure_percentage_threshold", config.failurePercentageThreshold, 0, 100),
        atLeast("outlier.failure_percentage_minimum_hosts", config.failurePercentageMinimumHosts,
                0),
        atLeast("outlier.failure_percentage_request_volume", config.failurePercentageRequestVolume,
                1)}) {
    if (!s) {
      return s;
    }
  }
  if (config.maxEjectionTime < config.baseEjectionTime) {
    return invalid(
        "outlier.max_ejection_time",
        "must be >= outlier.base_ejection_time (" + format(config.baseEjectionTime) + ")",
        format(config.maxEjectionTime));
  }
  return {};
}

}  // namespace fairway::health
