#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <fairway/breaker/backoff.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/breaker/observer.hpp>
#include <fairway/breaker/status.hpp>
#include <fairway/breaker/window.hpp>
#include <fairway/core/adaptive_mutex.hpp>

namespace fairway::breaker {

// How a call that allow() admitted ended.
enum class Outcome {
  kSuccess,
  kFailure,
  kIgnored,  // counts for nothing (e.g. the client went away); in half-open, frees the probe slot
};

// The answer of allow().
struct [[nodiscard]] Decision {
  bool allowed = false;
  State state = State::kClosed;  // the state that decided
  // Allowed: `now`. Rejected while open: the end of the open interval, when allow() will admit a
  // probe (a Retry-After). Rejected in half-open (every probe slot taken): `now`, as no instant is
  // known: it depends on the probes in flight.
  TimePoint retryAfter{};

  explicit operator bool() const { return allowed; }
};

// A breaker's state for observability (admin /backends, the simulator's reports).
struct Snapshot {
  State state = State::kClosed;
  TimePoint openUntil{};  // kOpen: the end of the open interval
  std::int64_t consecutiveFailures = 0;
  WindowCounts window;              // the sliding window's counts at the snapshot's `now`
  std::int64_t trips = 0;           // consecutive trips: the exponent of the next open interval
  std::int64_t probesAdmitted = 0;  // kHalfOpen: probe slots taken
  std::int64_t probeSuccesses = 0;  // kHalfOpen: probes that succeeded
};

// One endpoint's circuit breaker (Nygard, "Release It!", 2007; resilience4j's state machine):
// closed, open for an exponentially growing interval after each consecutive trip, then half-open
// for a few probes. Trips on consecutive failures, on the failure rate and on the slow-call rate
// over a count- or time-based sliding window (see Config).
//
// Usage: `if (auto d = breaker.allow(now)) { ...call...; breaker.record(outcome, latency, later); }
// else { reject; d.retryAfter }`. Every admitted call should be recorded once, Ignored if it did
// not complete: in half-open, an unrecorded probe keeps its slot until the next trip.
//
// Thread-safe. allow() is lock-free while closed (one atomic load) and while open before the end
// of the interval (two); every other allow(), and every record() that counts, takes one short
// lock (core::AdaptiveMutex): O(1), amortised O(1) for a time window. No method reads a
// clock or sleeps, and none allocates unless the state changes. `now` values from several threads
// may be slightly out of order; each is taken as is (a time window counts an older instant in its
// newest slice).
//
// A record() applies to the state it finds, as the breaker cannot tell which allow() admitted the
// call: while open it is ignored (a call admitted before the trip, ending late); in half-open it
// is taken as a probe's result while any probe is outstanding, and ignored otherwise.
class Breaker {
 public:
  // Use make(), which validates; this constructor trusts `config`. Observers are fixed for the
  // breaker's life; none may be null.
  explicit Breaker(const Config& config, std::vector<std::shared_ptr<Observer>> observers = {});
  ~Breaker();
  Breaker(const Breaker&) = delete;
  Breaker& operator=(const Breaker&) = delete;

  // Whether a call may go ahead at `now`. Moves open to half-open once the open interval has
  // elapsed; in half-open, admits up to half_open.probes calls.
  Decision allow(TimePoint now);

  // Counts the outcome of an admitted call that ended at `now` after `latency` (for slow_call).
  // May trip, close or reopen the breaker.
  void record(Outcome outcome, Duration latency, TimePoint now);
  void record(Outcome outcome, TimePoint now) { record(outcome, Duration{0}, now); }

  // The current state, lock-free. An open breaker whose interval has elapsed stays kOpen until the
  // next allow().
  State state() const { return state_.load(std::memory_order_acquire); }

  Snapshot snapshot(TimePoint now) const;
  const Config& config() const { return config_; }

 private:
  Decision allowLocked(TimePoint now);
  TimePoint openUntil() const {
    return TimePoint(Duration(openUntil_.load(std::memory_order_relaxed)));
  }
  void recordClosedLocked(bool failed, bool slow, TimePoint now);
  void recordHalfOpenLocked(Outcome outcome, bool slow, Duration latency, TimePoint now);
  void openLocked(State from, Reason reason, std::string detail, TimePoint now);
  void closeLocked(TimePoint now);
  void transitionLocked(Transition transition);
  void deliverLocked(std::unique_lock<core::AdaptiveMutex>& lock);

  const Config config_;
  const std::vector<std::shared_ptr<Observer>> observers_;
  // Derived from config_ for the hot path.
  const std::int64_t consecutiveLimit_;  // 0: off
  const bool windowed_;                  // a rate condition is on
  const std::int64_t successesToClose_;
  const Duration slowAfter_;           // slow_call.duration, or max when off
  const double failureRateThreshold_;  // percent, or infinity when off
  const double slowCallThreshold_;     // percent, or infinity when off

  // Written under mutex_, read lock-free by allow()'s fast paths (closed, and open before
  // openUntil_); openUntil_ is stored before the state that makes it meaningful.
  std::atomic<State> state_{State::kClosed};
  std::atomic<Duration::rep> openUntil_{0};  // kOpen: the end of the interval, since the epoch

  mutable core::AdaptiveMutex mutex_;
  std::int64_t consecutiveFailures_ = 0;
  SlidingWindow window_;
  Backoff backoff_;
  TimePoint closedSince_{};  // when it last closed from half-open (meaningful once trips > 0)
  Duration openFor_{0};      // the latest open interval
  std::int64_t probesAdmitted_ = 0;
  std::int64_t probesOutstanding_ = 0;
  std::int64_t probeSuccesses_ = 0;
  std::vector<Transition> pending_;  // transitions not yet delivered, oldest first
  bool delivering_ = false;          // some thread is delivering pending_
};

// Builds a breaker for `config` with the given observers. Errors name the offending key:
// kInvalidArgument, kNeverTrips (see validate()).
Result<std::unique_ptr<Breaker>> make(const Config& config,
                                      std::vector<std::shared_ptr<Observer>> observers = {});

}  // namespace fairway::breaker
