#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <fairway/breaker/breaker.hpp>

namespace fairway::breaker {
namespace {

std::string formatPercent(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g%%", value);
  return buffer;
}

// " over the last 10 calls" / " over 12 calls in the last 60s".
std::string windowPhrase(const WindowConfig& window, const WindowCounts& counts) {
  if (window.kind == WindowConfig::Kind::kCount) {
    return " over the last " + std::to_string(counts.calls) + " calls";
  }
  return " over " + std::to_string(counts.calls) + " calls in the last " +
         formatDuration(window.duration);
}

// A rate threshold in percent, or infinity when the condition is off: `100 × n >= threshold ×
// calls` is then never true, so the hot path needs no extra branch.
template <typename RateConfig>
double thresholdOrNever(const std::optional<RateConfig>& condition) {
  return condition ? condition->threshold : std::numeric_limits<double>::infinity();
}

}  // namespace

Breaker::Breaker(const Config& config, std::vector<std::shared_ptr<Observer>> observers)
    : config_(config),
      observers_(std::move(observers)),
      consecutiveLimit_(config_.consecutiveFailures.value_or(0)),
      windowed_(config_.failureRate.has_value() || config_.slowCall.has_value()),
      successesToClose_(config_.halfOpen.successesToClose.value_or(config_.halfOpen.probes)),
      slowAfter_(config_.slowCall ? config_.slowCall->duration : Duration::max()),
      failureRateThreshold_(thresholdOrNever(config_.failureRate)),
      slowCallThreshold_(thresholdOrNever(config_.slowCall)),
      window_(config_.window),
      backoff_(config_.backoff, config_.seed) {}

Breaker::~Breaker() = default;

Decision Breaker::allow(TimePoint now) {
  // Fast path: closed admits everything, and a trip racing with this load is indistinguishable
  // from one that happened just after it.
  const State state = state_.load(std::memory_order_acquire);
  if (state == State::kClosed) {
    return {true, State::kClosed, now};
  }
  // So is a rejection while open: during an outage every request asks, and none should queue on
  // the lock. The acquire above makes openUntil_ at least as new as the open state it read.
  if (state == State::kOpen) {
    const TimePoint until = openUntil();
    if (now < until) {
      return {false, State::kOpen, until};
    }
  }
  std::unique_lock lock(mutex_);
  const Decision decision = allowLocked(now);
  if (!pending_.empty()) {
    deliverLocked(lock);
  }
  return decision;
}

Decision Breaker::allowLocked(TimePoint now) {
  switch (state_.load(std::memory_order_relaxed)) {
    case State::kClosed:
      return {true, State::kClosed, now};
    case State::kOpen:
      if (now < openUntil()) {
        return {false, State::kOpen, openUntil()};
      }
      probesAdmitted_ = 0;
      probesOutstanding_ = 0;
      probeSuccesses_ = 0;
      state_.store(State::kHalfOpen, std::memory_order_release);
      transitionLocked({State::kOpen, State::kHalfOpen, Reason::kOpenIntervalElapsed,
                        "open interval of " + formatDuration(openFor_) + " elapsed", now});
      [[fallthrough]];
    case State::kHalfOpen:
      if (probesAdmitted_ < config_.halfOpen.probes) {
        ++probesAdmitted_;
        ++probesOutstanding_;
        return {true, State::kHalfOpen, now};
      }
      return {false, State::kHalfOpen, now};
  }
  return {false, State::kOpen, now};
}

void Breaker::record(Outcome outcome, Duration latency, TimePoint now) {
  const State seen = state_.load(std::memory_order_acquire);
  // Nothing to count: an Ignored call while closed, and any result while open (a call admitted
  // before the trip). A state change racing with this load is as if the record came first.
  if (seen == State::kOpen || (seen == State::kClosed && outcome == Outcome::kIgnored)) {
    return;
  }
  const bool slow = latency >= slowAfter_;
  std::unique_lock lock(mutex_);
  switch (state_.load(std::memory_order_relaxed)) {
    case State::kClosed:
      if (outcome != Outcome::kIgnored) {
        recordClosedLocked(outcome == Outcome::kFailure, slow, now);
      }
      break;
    case State::kOpen:
      break;
    case State::kHalfOpen:
      recordHalfOpenLocked(outcome, slow, latency, now);
      break;
  }
  if (!pending_.empty()) {
    deliverLocked(lock);
  }
}

void Breaker::recordClosedLocked(bool failed, bool slow, TimePoint now) {
  consecutiveFailures_ = failed ? consecutiveFailures_ + 1 : 0;
  if (consecutiveLimit_ > 0 && consecutiveFailures_ >= consecutiveLimit_) {
    openLocked(State::kClosed, Reason::kConsecutiveFailures,
               std::to_string(consecutiveFailures_) + " consecutive failures (threshold " +
                   std::to_string(consecutiveLimit_) + ")",
               now);
    return;
  }
  if (!windowed_) {
    return;
  }
  const WindowCounts& counts = window_.add(failed, slow, now);
  if (counts.calls < config_.window.minimumCalls) {
    return;
  }
  const auto calls = static_cast<double>(counts.calls);
  // Compared by multiplication, exact for integral thresholds: 5 failures in 10 calls is 50%.
  if (100.0 * static_cast<double>(counts.failures) >= failureRateThreshold_ * calls) {
    openLocked(State::kClosed, Reason::kFailureRate,
               "failure rate " + formatPercent(counts.failureRate()) + " >= " +
                   formatPercent(failureRateThreshold_) + windowPhrase(config_.window, counts),
               now);
  } else if (100.0 * static_cast<double>(counts.slowCalls) >= slowCallThreshold_ * calls) {
    openLocked(State::kClosed, Reason::kSlowCallRate,
               "slow-call rate " + formatPercent(counts.slowCallRate()) + " >= " +
                   formatPercent(slowCallThreshold_) + windowPhrase(config_.window, counts) +
                   " (slow: >= " + formatDuration(slowAfter_) + ")",
               now);
  }
}

void Breaker::recordHalfOpenLocked(Outcome outcome, bool slow, Duration latency, TimePoint now) {
  if (probesOutstanding_ == 0) {
    return;  // not a probe: a call admitted before the trip, ending late
  }
  --probesOutstanding_;
  switch (outcome) {
    case Outcome::kIgnored:
      --probesAdmitted_;  // the slot goes to the next caller
      return;
    case Outcome::kFailure:
      openLocked(State::kHalfOpen, Reason::kProbeFailed, "a probe failed", now);
      return;
    case Outcome::kSuccess:
      if (slow) {
        openLocked(State::kHalfOpen, Reason::kProbeSlow,
                   "a probe took " + formatDuration(latency) +
                       " (slow: >= " + formatDuration(slowAfter_) + ")",
                   now);
        return;
      }
      if (++probeSuccesses_ >= successesToClose_) {
        closeLocked(now);
      }
      return;
  }
}

void Breaker::openLocked(State from, Reason reason, std::string detail, TimePoint now) {
  // The exponent restarts after a healthy period: closed for backoff.reset_after since the last
  // close. (Before the first trip there is nothing to reset, and closedSince_ means nothing.)
  if (from == State::kClosed && backoff_.trips() > 0 &&
      now - closedSince_ >= config_.backoff.resetAfter) {
    backoff_.reset();
  }
  openFor_ = backoff_.next();
  openUntil_.store((now + openFor_).time_since_epoch().count(), std::memory_order_relaxed);
  state_.store(State::kOpen, std::memory_order_release);
  transitionLocked(
      {from, State::kOpen, reason, std::move(detail), now, openFor_, backoff_.trips()});
}

void Breaker::closeLocked(TimePoint now) {
  // Closed starts from a clean slate: what tripped the breaker is history.
  consecutiveFailures_ = 0;
  window_.clear();
  closedSince_ = now;
  state_.store(State::kClosed, std::memory_order_release);
  transitionLocked({State::kHalfOpen, State::kClosed, Reason::kProbesSucceeded,
                    std::to_string(probeSuccesses_) + " of " +
                        std::to_string(config_.halfOpen.probes) + " probes succeeded",
                    now});
}

void Breaker::transitionLocked(Transition transition) {
  if (!observers_.empty()) {
    pending_.push_back(std::move(transition));
  }
}

// Delivers pending transitions outside the lock, oldest first. One thread at a time delivers: a
// thread that finds another delivering leaves its transitions to it, so order is kept without
// holding the lock (or blocking on an observer) while observers run.
void Breaker::deliverLocked(std::unique_lock<core::AdaptiveMutex>& lock) {
  if (delivering_) {
    return;
  }
  delivering_ = true;
  std::vector<Transition> batch;
  while (!pending_.empty()) {
    batch.clear();
    batch.swap(pending_);
    lock.unlock();
    for (const Transition& transition : batch) {
      for (const auto& observer : observers_) {
        observer->onTransition(transition);
      }
    }
    lock.lock();
  }
  delivering_ = false;
}

Snapshot Breaker::snapshot(TimePoint now) const {
  std::lock_guard lock(mutex_);
  Snapshot s;
  s.state = state_.load(std::memory_order_relaxed);
  s.openUntil = s.state == State::kOpen ? openUntil() : TimePoint{};
  s.consecutiveFailures = consecutiveFailures_;
  s.window = window_.counts(now);
  s.trips = backoff_.trips();
  if (s.state == State::kClosed && s.trips > 0 &&
      now - closedSince_ >= config_.backoff.resetAfter) {
    s.trips = 0;  // the next trip will reset the exponent
  }
  if (s.state == State::kHalfOpen) {
    s.probesAdmitted = probesAdmitted_;
    s.probeSuccesses = probeSuccesses_;
  }
  return s;
}

Result<std::unique_ptr<Breaker>> make(const Config& config,
                                      std::vector<std::shared_ptr<Observer>> observers) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  for (std::size_t i = 0; i < observers.size(); ++i) {
    if (!observers[i]) {
      return Error{ErrorCode::kInvalidArgument,
                   "observers[" + std::to_string(i) + "]: must not be null"};
    }
  }
  return std::make_unique<Breaker>(config, std::move(observers));
}

}  // namespace fairway::breaker
