#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fairway/breaker/config.hpp>

namespace fairway::breaker {

enum class State {
  kClosed,    // calls flow; outcomes are counted
  kOpen,      // calls are rejected until the open interval ends
  kHalfOpen,  // a few probe calls decide between closed and open
};

// Why a transition happened.
enum class Reason {
  kConsecutiveFailures,  // closed -> open: consecutive_failures reached
  kFailureRate,          // closed -> open: failure_rate.threshold reached over the window
  kSlowCallRate,         // closed -> open: slow_call.threshold reached over the window
  kOpenIntervalElapsed,  // open -> half-open: the first allow() at or after the interval's end
  kProbesSucceeded,      // half-open -> closed: half_open.successes_to_close probes succeeded
  kProbeFailed,          // half-open -> open: a probe failed
  kProbeSlow,            // half-open -> open: a probe took at least slow_call.duration
};

// "closed", "open", "half_open"; "consecutive_failures", "failure_rate", ... (the snake_case of the
// enumerator, for logs and metrics labels).
std::string_view toString(State state);
std::string_view toString(Reason reason);

// One change of state.
struct Transition {
  State from = State::kClosed;
  State to = State::kClosed;
  Reason reason = Reason::kConsecutiveFailures;
  std::string detail;  // for people, e.g. "failure rate 60% >= 50% over the last 10 calls"
  TimePoint at{};      // the `now` of the allow() or record() that caused it
  // When `to` is kOpen: how long it stays open (jitter applied) and which consecutive trip this
  // is (1 for the first; the backoff exponent is trip - 1). Zero otherwise.
  Duration openFor{0};
  std::int64_t trip = 0;
};

// Receives a breaker's transitions (metrics, logs, the simulator's reports, the proxy telling its
// balancer that an endpoint is unavailable). The seam is one method; implementations group it
// under a `// fairway::breaker::Observer` comment.
class Observer {
 public:
  virtual ~Observer() = default;

  // Called once per transition, in the order the transitions happened, never concurrently for one
  // breaker, and never under the breaker's lock: the observer may call back into the breaker
  // (allow, record, snapshot). It may run on another thread than the one whose allow()/record()
  // caused the transition (the thread already delivering earlier transitions delivers later ones
  // too), and that call may return before delivery. Must not throw; should be quick, since the
  // delivering thread is on the request path. An observer shared by several breakers is called
  // concurrently by them and must be thread-safe itself.
  virtual void onTransition(const Transition& transition) = 0;
};

}  // namespace fairway::breaker
