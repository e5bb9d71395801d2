#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <unordered_map>
#include <utility>

#include <fairway/health/outlier_detector.hpp>

#include "notifier.hpp"

namespace fairway::health {
namespace {

int clampToInt(std::uint32_t v) {
  return static_cast<int>(std::min<std::uint32_t>(v, INT_MAX));
}

// Clears a counter without writing its cache line when it is already zero: the common case of a
// success after a success.
void clear(std::atomic<std::uint32_t>& counter) {
  if (counter.load(std::memory_order_relaxed) != 0) {
    counter.store(0, std::memory_order_relaxed);
  }
}

}  // namespace

struct OutlierDetector::Entry {
  explicit Entry(std::string entryId) : id(std::move(entryId)) {}

  const std::string id;

  // Touched by every outcome, on a line of their own. `ejected` and `ejectedUntil` are written
  // under mutex_.
  alignas(64) std::atomic<bool> ejected{false};
  std::atomic<Clock::rep> ejectedUntil{0};
  std::atomic<std::uint32_t> consecutive5xx{0};
  std::atomic<std::uint32_t> consecutiveGateway{0};
  std::atomic<std::uint64_t> windowRequests{0};
  std::atomic<std::uint64_t> windowFailures{0};

  // Under mutex_.
  alignas(64) int multiplier = 0;
  TimePoint decayMark{};  // decay counts whole intervals from here
  std::uint64_t ejections = 0;
  Expiries::iterator expiry;  // while ejected
  bool removed = false;       // a thread may still hold it through an older index
};

// The endpoints by id at one moment: immutable once published. It owns its entries, so an entry
// outlives its removal for as long as any thread may still be looking at it.
struct OutlierDetector::Index {
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };

  std::unordered_map<std::string, std::shared_ptr<Entry>, IdHash, std::equal_to<>> byId;
};

OutlierDetector::OutlierDetector(OutlierConfig config)
    : config_(std::move(config)), notifier_(std::make_unique<Notifier>()), published_(nullptr) {
  std::lock_guard lock(mutex_);
  publishLocked();
}

OutlierDetector::~OutlierDetector() = default;

// Builds and publishes a new index from order_: O(n).
void OutlierDetector::publishLocked() {
  auto next = std::make_shared<Index>();
  next->byId.reserve(order_.size());
  for (const auto& entry : order_) {
    next->byId.emplace(entry->id, entry);
  }
  index_ = next;
  published_.publish(std::move(next));
}

const OutlierDetector::Index& OutlierDetector::current() const {
  return published_.read();
}

OutlierDetector::Entry* OutlierDetector::findLocked(std::string_view id) const {
  auto it = index_->byId.find(id);
  return it == index_->byId.end() ? nullptr : it->second.get();
}

Status OutlierDetector::add(std::string id) {
  if (id.empty()) {
    return Error{ErrorCode::kInvalidArgument, "endpoint id must not be empty"};
  }
  std::lock_guard lock(mutex_);
  if (findLocked(id) != nullptr) {
    return Error{ErrorCode::kDuplicateId, "endpoint id '" + id + "' is already present"};
  }
  order_.push_back(std::make_shared<Entry>(std::move(id)));
  publishLocked();
  return {};
}

Status OutlierDetector::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  Entry* entry = findLocked(id);
  if (entry == nullptr) {
    return Error{ErrorCode::kNotFound, "no endpoint with id '" + std::string(id) + "'"};
  }
  if (entry->ejected.load(std::memory_order_relaxed)) {
    expiries_.erase(entry->expiry);
    --ejected_;
  }
  entry->removed = true;
  std::erase_if(order_, [entry](const auto& e) { return e.get() == entry; });
  publishLocked();
  return {};
}

bool OutlierDetector::recordOutcome(std::string_view id, Outcome outcome, TimePoint now) {
  const Index& index = current();
  auto it = index.byId.find(id);
  if (it == index.byId.end()) {
    return false;
  }
  Entry& e = *it->second;
  bool notify = false;
  if (e.ejected.load(std::memory_order_acquire)) {
    if (now.time_since_epoch().count() < e.ejectedUntil.load(std::memory_order_relaxed)) {
      return true;  // in flight when it was ejected: the ejection already accounts for it
    }
    std::lock_guard lock(mutex_);
    notify = expireLocked(now);
    if (e.ejected.load(std::memory_order_relaxed)) {
      return true;  // `now` is behind the thread that ejected it again
    }
  }

  const bool failure = outcome.isServerError();
  if (config_.failurePercentageThreshold > 0) {
    e.windowRequests.fetch_add(1, std::memory_order_relaxed);
    if (failure) {
      e.windowFailures.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!failure) {
    clear(e.consecutive5xx);
    clear(e.consecutiveGateway);
  } else {
    // As Envoy counts: a 5xx that is not a gateway failure ends a gateway-failure streak.
    std::uint32_t gateway = 0;
    if (outcome.isGatewayFailure()) {
      gateway = e.consecutiveGateway.fetch_add(1, std::memory_order_relaxed) + 1;
    } else {
      clear(e.consecutiveGateway);
    }
    const std::uint32_t errors = e.consecutive5xx.fetch_add(1, std::memory_order_relaxed) + 1;
    // `>=` rather than Envoy's `==`: an ejection refused by the cap is tried again on the next
    // failure, so it happens as soon as the cap allows.
    const auto reached = [](std::uint32_t count, int threshold) {
      return threshold > 0 && count >= static_cast<std::uint32_t>(threshold);
    };
    std::optional<Reason> reason;
    if (reached(gateway, config_.consecutiveGatewayFailure)) {
      reason = Reason::kConsecutiveGatewayFailure;
    } else if (reached(errors, config_.consecutive5xx)) {
      reason = Reason::kConsecutive5xx;
    }
    if (reason) {
      std::lock_guard lock(mutex_);
      notify = expireLocked(now) || notify;
      notify = ejectLocked(e, *reason, now) || notify;
    }
  }
  if (notify) {
    notifier_->deliver();
  }
  return true;
}

void OutlierDetector::update(TimePoint now) {
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    notify = expireLocked(now);
    for (const auto& entry : order_) {
      decayLocked(*entry, now);
    }
    notify = sweepLocked(now) || notify;
  }
  if (notify) {
    notifier_->deliver();
  }
}

std::optional<TimePoint> OutlierDetector::nextUpdateAt() const {
  std::lock_guard lock(mutex_);
  std::optional<TimePoint> next = sweepAt_;
  if (!expiries_.empty() && (!next || expiries_.begin()->first < *next)) {
    next = expiries_.begin()->first;
  }
  return next;
}

// Max-ejection cap, in integers where possible: (ejected + 1) × 100 <= percent × endpoints.
bool OutlierDetector::capAllowsLocked() const {
  const double allowed = config_.maxEjectionPercent * static_cast<double>(order_.size());
  if (static_cast<double>((ejected_ + 1) * 100) <= allowed) {
    return true;
  }
  return config_.alwaysEjectOneHost && ejected_ == 0;
}

bool OutlierDetector::ejectLocked(Entry& e, Reason reason, TimePoint now) {
  if (e.removed || e.ejected.load(std::memory_order_relaxed) || !capAllowsLocked()) {
    return false;
  }
  decayLocked(e, now);
  // Envoy stops growing the multiplier once the ejection time reaches the cap, so that decay
  // after a long outage takes at most ceil(max / base) intervals.
  if (config_.baseEjectionTime * e.multiplier < config_.maxEjectionTime) {
    ++e.multiplier;
  }
  const auto length = std::min<std::chrono::nanoseconds>(config_.baseEjectionTime * e.multiplier,
                                                         config_.maxEjectionTime);
  const TimePoint until = now + length;
  e.ejectedUntil.store(until.time_since_epoch().count(), std::memory_order_relaxed);
  e.ejected.store(true, std::memory_order_release);
  e.expiry = expiries_.emplace(until, &e);
  ++ejected_;
  ++e.ejections;
  // A new streak must build up from zero after the ejection.
  e.consecutive5xx.store(0, std::memory_order_relaxed);
  e.consecutiveGateway.store(0, std::memory_order_relaxed);
  notifier_->enqueue({e.id, HealthState::kUp, HealthState::kEjected, reason, now});
  return true;
}

bool OutlierDetector::expireLocked(TimePoint now) {
  bool any = false;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    Entry& e = *expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    e.ejected.store(false, std::memory_order_release);
    --ejected_;
    e.decayMark = now;
    notifier_->enqueue(
        {e.id, HealthState::kEjected, HealthState::kUp, Reason::kEjectionExpired, now});
    any = true;
  }
  return any;
}

// One step down per whole interval spent un-ejected since the last step (Envoy takes one step per
// analysis sweep at least an interval after the un-ejection; counting from the un-ejection
// itself makes the result independent of how often update() runs).
void OutlierDetector::decayLocked(Entry& e, TimePoint now) const {
  if (e.multiplier == 0 || e.ejected.load(std::memory_order_relaxed) || now <= e.decayMark) {
    return;
  }
  const auto steps = (now - e.decayMark) / config_.interval;
  if (steps >= e.multiplier) {
    e.multiplier = 0;
  } else if (steps > 0) {
    e.multiplier -= static_cast<int>(steps);
    e.decayMark += config_.interval * steps;
  }
}

// Envoy's failure-percentage detection: at the end of each interval, the endpoints with at least
// failure_percentage_request_volume requests in it are candidates if there are at least
// failure_percentage_minimum_hosts of them; those whose failure share reaches the threshold are
// ejected, worst first (ties in the order added), while the cap allows.
bool OutlierDetector::sweepLocked(TimePoint now) {
  if (config_.failurePercentageThreshold <= 0) {
    return false;
  }
  if (!sweepAt_) {
    for (const auto& entry : order_) {
      entry->windowRequests.store(0, std::memory_order_relaxed);
      entry->windowFailures.store(0, std::memory_order_relaxed);
    }
    sweepAt_ = now + config_.interval;
    return false;
  }
  if (now < *sweepAt_) {
    return false;
  }
  struct Candidate {
    Entry* entry;
    std::uint64_t requests;
    std::uint64_t failures;
  };
  bool ejectedAny = false;
  std::vector<Candidate> qualified;
  const auto volume = static_cast<std::uint64_t>(config_.failurePercentageRequestVolume);
  for (const auto& entry : order_) {
    const std::uint64_t requests = entry->windowRequests.exchange(0, std::memory_order_relaxed);
    const std::uint64_t failures = entry->windowFailures.exchange(0, std::memory_order_relaxed);
    if (!entry->ejected.load(std::memory_order_relaxed) && requests >= volume) {
      qualified.push_back({entry.get(), requests, std::min(failures, requests)});
    }
  }
  if (qualified.size() >= static_cast<std::size_t>(config_.failurePercentageMinimumHosts)) {
    const double threshold = config_.failurePercentageThreshold;
    std::erase_if(qualified, [threshold](const Candidate& c) {
      return static_cast<double>(c.failures) * 100.0 < threshold * static_cast<double>(c.requests);
    });
    std::stable_sort(qualified.begin(), qualified.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return static_cast<core::Uint128>(a.failures) * b.requests >
                              static_cast<core::Uint128>(b.failures) * a.requests;
                     });
    for (const Candidate& c : qualified) {
      ejectedAny = ejectLocked(*c.entry, Reason::kFailurePercentage, now) || ejectedAny;
    }
  }
  const auto missed = (now - *sweepAt_) / config_.interval;
  *sweepAt_ += config_.interval * (missed + 1);
  return ejectedAny;
}

void OutlierDetector::subscribe(std::shared_ptr<Observer> observer) {
  notifier_->subscribe(std::move(observer));
}

void OutlierDetector::unsubscribe(const Observer* observer) {
  notifier_->unsubscribe(observer);
}

bool OutlierDetector::isEjected(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const Entry* entry = findLocked(id);
  return entry != nullptr && entry->ejected.load(std::memory_order_relaxed);
}

std::size_t OutlierDetector::ejectedCount() const {
  std::lock_guard lock(mutex_);
  return ejected_;
}

OutlierStatus OutlierDetector::statusOf(const Entry& e) const {
  const bool ejected = e.ejected.load(std::memory_order_relaxed);
  return {e.id,
          ejected,
          ejected ? TimePoint(Clock::duration(e.ejectedUntil.load(std::memory_order_relaxed)))
                  : TimePoint{},
          e.multiplier,
          e.ejections,
          clampToInt(e.consecutive5xx.load(std::memory_order_relaxed)),
          clampToInt(e.consecutiveGateway.load(std::memory_order_relaxed)),
          e.windowRequests.load(std::memory_order_relaxed),
          e.windowFailures.load(std::memory_order_relaxed)};
}

std::optional<OutlierStatus> OutlierDetector::endpoint(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const Entry* entry = findLocked(id);
  return entry == nullptr ? std::nullopt : std::optional(statusOf(*entry));
}

std::vector<OutlierStatus> OutlierDetector::endpoints() const {
  std::lock_guard lock(mutex_);
  std::vector<OutlierStatus> out;
  out.reserve(order_.size());
  for (const auto& entry : order_) {
    out.push_back(statusOf(*entry));
  }
  return out;
}

std::size_t OutlierDetector::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

Result<std::unique_ptr<OutlierDetector>> makeOutlierDetector(const OutlierConfig& config) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  return std::make_unique<OutlierDetector>(config);
}

}  // namespace fairway::health
