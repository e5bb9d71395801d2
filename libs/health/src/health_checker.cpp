#include <algorithm>
#include <utility>

#include <fairway/health/health_checker.hpp>

#include "notifier.hpp"

namespace fairway::health {

struct HealthChecker::Entry {
  Entry(std::string entryId, std::string entryAddress, ActiveCheck activeCheck, TimePoint now)
      : id(std::move(entryId)),
        address(std::move(entryAddress)),
        check(activeCheck),
        lastChange(now) {}

  const std::string id;
  const std::string address;
  ActiveCheck check;
  TimePoint lastChange;
  std::optional<ProbeResult> lastResult;
  // Exactly one of the two holds the entry's schedule node: `slot` while it waits in the
  // schedule, `parked` while it is being probed. Moving the node between them reuses its memory.
  Schedule::iterator slot;
  Schedule::node_type parked;
};

HealthChecker::HealthChecker(HealthCheckConfig config)
    : config_(std::move(config)), notifier_(std::make_unique<Notifier>()) {}

HealthChecker::~HealthChecker() = default;

Status HealthChecker::add(std::string id, std::string address, TimePoint now,
                          std::optional<InitialState> initial) {
  if (id.empty()) {
    return Error{ErrorCode::kInvalidArgument, "endpoint id must not be empty"};
  }
  std::lock_guard lock(mutex_);
  if (entries_.contains(id)) {
    return Error{ErrorCode::kDuplicateId, "endpoint id '" + id + "' is already present"};
  }
  // Each endpoint's own generator: its jitter does not depend on which others exist.
  const std::uint64_t seed = Random::mix(config_.seed ^ core::hashKey(id));
  ActiveCheck check(config_, initial.value_or(config_.initialState), now, seed);
  auto entry = std::make_unique<Entry>(id, std::move(address), check, now);
  entry->slot = schedule_.emplace(entry->check.dueAt(), entry.get());
  entries_.emplace(std::move(id), std::move(entry));
  return {};
}

Status HealthChecker::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return Error{ErrorCode::kNotFound, "no endpoint with id '" + std::string(id) + "'"};
  }
  if (it->second->parked.empty()) {
    schedule_.erase(it->second->slot);
  }
  entries_.erase(it);
  return {};
}

std::optional<TimePoint> HealthChecker::nextProbeAt(TimePoint now) const {
  std::lock_guard lock(mutex_);
  if (schedule_.empty()) {
    return std::nullopt;
  }
  return std::max(now, schedule_.begin()->first);
}

std::vector<ProbeTarget> HealthChecker::takeDueProbes(TimePoint now) {
  std::vector<ProbeTarget> due;
  std::lock_guard lock(mutex_);
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    Entry& entry = *schedule_.begin()->second;
    entry.parked = schedule_.extract(schedule_.begin());
    due.push_back({entry.id, entry.address, config_.probe});
  }
  return due;
}

void HealthChecker::probeDue(Prober& prober, TimePoint now) {
  for (const ProbeTarget& target : takeDueProbes(now)) {
    prober.probe(target, [this, id = target.endpoint, now](ProbeResult result) {
      const TimePoint at = now + result.latency;
      // kNotFound: the endpoint was removed while it was being probed; nothing to record.
      (void)recordProbe(id, result, at);
    });
  }
}

Status HealthChecker::recordProbe(std::string_view id, const ProbeResult& result, TimePoint now) {
  {
    std::lock_guard lock(mutex_);
    Entry* entry = findLocked(id);
    if (entry == nullptr) {
      return Error{ErrorCode::kNotFound, "no endpoint with id '" + std::string(id) + "'"};
    }
    const std::optional<Transition> change = entry->check.recordProbe(result, now);
    entry->lastResult = result;
    scheduleLocked(*entry);
    if (!change) {
      return {};
    }
    entry->lastChange = now;
    notifier_->enqueue({entry->id, change->from, change->to, change->reason, now});
  }
  notifier_->deliver();
  return {};
}

// Moves the entry's schedule node to its new due time, from the schedule or from `parked`.
void HealthChecker::scheduleLocked(Entry& entry) {
  Schedule::node_type node =
      entry.parked.empty() ? schedule_.extract(entry.slot) : std::move(entry.parked);
  node.key() = entry.check.dueAt();
  entry.slot = schedule_.insert(std::move(node));
}

HealthChecker::Entry* HealthChecker::findLocked(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.get();
}

void HealthChecker::subscribe(std::shared_ptr<Observer> observer) {
  notifier_->subscribe(std::move(observer));
}

void HealthChecker::unsubscribe(const Observer* observer) {
  notifier_->unsubscribe(observer);
}

EndpointHealth HealthChecker::statusOf(const Entry& entry) {
  return {entry.id,
          entry.address,
          entry.check.state(),
          entry.check.remaining(),
          entry.check.transitioning(),
          !entry.parked.empty(),
          entry.check.dueAt(),
          entry.lastChange,
          entry.lastResult};
}

std::optional<HealthState> HealthChecker::state(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const Entry* entry = findLocked(id);
  return entry == nullptr ? std::nullopt : std::optional(entry->check.state());
}

std::optional<EndpointHealth> HealthChecker::endpoint(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const Entry* entry = findLocked(id);
  return entry == nullptr ? std::nullopt : std::optional(statusOf(*entry));
}

std::vector<EndpointHealth> HealthChecker::endpoints() const {
  std::lock_guard lock(mutex_);
  std::vector<EndpointHealth> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) {
    out.push_back(statusOf(*entry));
  }
  return out;
}

std::size_t HealthChecker::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Result<std::unique_ptr<HealthChecker>> makeHealthChecker(const HealthCheckConfig& config) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  return std::make_unique<HealthChecker>(config);
}

}  // namespace fairway::health
