#include <cmath>
#include <cstdio>
#include <string>

#include <fairway/breaker/config.hpp>

namespace fairway::breaker {
namespace {

// "%g" prints 50 as "50" and 0.5 as "0.5", as a person would write them in a config file.
std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

Error invalid(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message};
}

// "(0, 100]": a percentage that can be reached and is not zero.
Status checkPercent(const std::string& key, double value) {
  if (!(value > 0.0 && value <= 100.0)) {
    return invalid(key + ": must be a percentage in (0, 100] (got " + formatNumber(value) + ")");
  }
  return {};
}

Status checkPositive(const std::string& key, Duration value) {
  if (value.count() <= 0) {
    return invalid(key + ": must be > 0 (got " + formatDuration(value) + ")");
  }
  return {};
}

Status checkInRange(const std::string& key, std::int64_t value, std::int64_t low,
                    std::int64_t high) {
  if (value < low || value > high) {
    return invalid(key + ": must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                   "] (got " + std::to_string(value) + ")");
  }
  return {};
}

Status validateWindow(const WindowConfig& window) {
  switch (window.kind) {
    case WindowConfig::Kind::kCount:
      if (Status s = checkInRange("window.size", window.size, 1, kMaxWindowSize); !s) {
        return s;
      }
      break;
    case WindowConfig::Kind::kTime:
      if (Status s = checkPositive("window.duration", window.duration); !s) {
        return s;
      }
      if (Status s = checkInRange("window.buckets", window.buckets, 1, kMaxWindowBuckets); !s) {
        return s;
      }
      if (window.duration.count() < window.buckets) {
        return invalid("window.buckets: " + std::to_string(window.buckets) +
                       " buckets do not fit in window.duration " + formatDuration(window.duration) +
                       " (each must be at least 1ns)");
      }
      break;
    default:
      return invalid("window.kind: must be count or time");
  }
  if (window.minimumCalls < 1) {
    return invalid("window.minimum_calls: must be >= 1 (got " +
                   std::to_string(window.minimumCalls) + ")");
  }
  if (window.kind == WindowConfig::Kind::kCount && window.minimumCalls > window.size) {
    return Error{ErrorCode::kNeverTrips,
                 "window.minimum_calls: " + std::to_string(window.minimumCalls) +
                     " is more than window.size " + std::to_string(window.size) +
                     " calls, so the rates would never count"};
  }
  return {};
}

Status validateBackoff(const BackoffConfig& backoff) {
  if (Status s = checkPositive("backoff.base", backoff.base); !s) {
    return s;
  }
  if (!(backoff.multiplier >= 1.0)) {
    return invalid("backoff.multiplier: must be >= 1 (got " + formatNumber(backoff.multiplier) +
                   ")");
  }
  if (!std::isfinite(backoff.multiplier)) {
    return invalid("backoff.multiplier: must be finite");
  }
  if (backoff.max < backoff.base) {
    return invalid("backoff.max: must be >= backoff.base " + formatDuration(backoff.base) +
                   " (got " + formatDuration(backoff.max) + ")");
  }
  switch (backoff.jitter) {
    case Jitter::kNone:
    case Jitter::kFull:
    case Jitter::kEqual:
      break;
    default:
      return invalid("backoff.jitter: must be none, full or equal");
  }
  return checkPositive("backoff.reset_after", backoff.resetAfter);
}

Status validateHalfOpen(const HalfOpenConfig& halfOpen) {
  if (Status s = checkInRange("half_open.probes", halfOpen.probes, 1, kMaxProbes); !s) {
    return s;
  }
  if (halfOpen.successesToClose) {
    const std::int64_t successes = *halfOpen.successesToClose;
    if (successes < 1 || successes > halfOpen.probes) {
      return invalid("half_open.successes_to_close: must be in [1, half_open.probes = " +
                     std::to_string(halfOpen.probes) + "] (got " + std::to_string(successes) + ")");
    }
  }
  return {};
}

}  // namespace

Status validate(const Config& config) {
  if (!config.consecutiveFailures && !config.failureRate && !config.slowCall) {
    return Error{ErrorCode::kNeverTrips,
                 "consecutive_failures, failure_rate, slow_call: all disabled, so the breaker "
                 "could never open; set at least one"};
  }
  if (config.consecutiveFailures && *config.consecutiveFailures < 1) {
    return invalid("consecutive_failures: must be >= 1 (got " +
                   std::to_string(*config.consecutiveFailures) + ")");
  }
  if (config.failureRate) {
    if (Status s = checkPercent("failure_rate.threshold", config.failureRate->threshold); !s) {
      return s;
    }
  }
  if (config.slowCall) {
    if (Status s = checkPositive("slow_call.duration", config.slowCall->duration); !s) {
      return s;
    }
    if (Status s = checkPercent("slow_call.threshold", config.slowCall->threshold); !s) {
      return s;
    }
  }
  if (Status s = validateWindow(config.window); !s) {
    return s;
  }
  if (Status s = validateBackoff(config.backoff); !s) {
    return s;
  }
  return validateHalfOpen(config.halfOpen);
}

std::string formatDuration(Duration duration) {
  using std::chrono::hours;
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  const std::int64_t ns = duration.count();
  const auto whole = [ns](Duration unit) { return ns % unit.count() == 0; };
  const auto in = [ns](Duration unit) { return std::to_string(ns / unit.count()); };
  if (ns == 0) {
    return "0s";
  }
  if (whole(hours(1))) {
    return in(hours(1)) + "h";
  }
  if (whole(minutes(1))) {
    return in(minutes(1)) + "m";
  }
  if (whole(seconds(1))) {
    return in(seconds(1)) + "s";
  }
  if (whole(milliseconds(1))) {
    return in(milliseconds(1)) + "ms";
  }
  if (whole(microseconds(1))) {
    return in(microseconds(1)) + "us";
  }
  return std::to_string(ns) + "ns";
}

}  // namespace fairway::breaker
