#include <fairway/breaker/observer.hpp>

namespace fairway::breaker {

std::string_view toString(State state) {
  switch (state) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

std::string_view toString(Reason reason) {
  switch (reason) {
    case Reason::kConsecutiveFailures:
      return "consecutive_failures";
    case Reason::kFailureRate:
      return "failure_rate";
    case Reason::kSlowCallRate:
      return "slow_call_rate";
    case Reason::kOpenIntervalElapsed:
      return "open_interval_elapsed";
    case Reason::kProbesSucceeded:
      return "probes_succeeded";
    case Reason::kProbeFailed:
      return "probe_failed";
    case Reason::kProbeSlow:
      return "probe_slow";
  }
  return "unknown";
}

}  // namespace fairway::breaker
