#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fairway/cache/coalescer.hpp>
#include <fairway/core/random.hpp>

namespace fairway::cache {
namespace {

constexpr std::size_t kShards = 16;

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return core::hashKey(key); }
};

}  // namespace

struct Coalescer::Shard {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<Flight>, KeyHash, std::equal_to<>> flights;
};

// One fetch under way. `waiters` is guarded by the shard's mutex; `outcome` is written once,
// before `done` is released, and only read after `done` is acquired.
class Coalescer::Flight {
 public:
  Flight(std::shared_ptr<Shard> shard, std::string_view key, TimePoint startedAt)
      : shard_(std::move(shard)), key_(key), startedAt_(startedAt) {}

  std::shared_ptr<Shard> shard_;
  const std::string key_;
  const TimePoint startedAt_;
  std::vector<std::pair<std::uint64_t, Waiter>> waiters_;
  std::atomic<bool> done_{false};
  FlightOutcome outcome_;
};

Coalescer::Coalescer(std::chrono::nanoseconds timeout) : timeout_(timeout) {
  shards_.reserve(kShards);
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_shared<Shard>());
  }
}

Coalescer::~Coalescer() = default;

const std::shared_ptr<Coalescer::Shard>& Coalescer::shardFor(std::string_view key) const {
  return shards_[core::hashKey(key) % kShards];
}

Coalescer::Joined Coalescer::join(std::string_view key, TimePoint now, Waiter waiter) {
  const std::shared_ptr<Shard>& shard = shardFor(key);
  std::lock_guard lock(shard->mutex);
  auto it = shard->flights.find(key);
  if (it != shard->flights.end() && now < it->second->startedAt_ + timeout_) {
    const std::uint64_t id = nextId_.fetch_add(1, std::memory_order_relaxed);
    it->second->waiters_.emplace_back(id, std::move(waiter));
    return Joined{std::nullopt, Wait(it->second, id, now + timeout_)};
  }
  // No flight, or one whose leader has had its whole timeout: lead a new one. The old flight's
  // followers keep waiting on it until it publishes or their own deadlines pass.
  auto flight = std::make_shared<Flight>(shard, key, now);
  if (it != shard->flights.end()) {
    it->second = flight;
  } else {
    shard->flights.emplace(std::string(key), flight);
  }
  return Joined{Leadership(std::move(flight)), std::nullopt};
}

std::optional<Coalescer::Leadership> Coalescer::tryLead(std::string_view key, TimePoint now) {
  const std::shared_ptr<Shard>& shard = shardFor(key);
  std::lock_guard lock(shard->mutex);
  auto it = shard->flights.find(key);
  if (it != shard->flights.end() && now < it->second->startedAt_ + timeout_) {
    return std::nullopt;
  }
  auto flight = std::make_shared<Flight>(shard, key, now);
  if (it != shard->flights.end()) {
    it->second = flight;
  } else {
    shard->flights.emplace(std::string(key), flight);
  }
  return Leadership(std::move(flight));
}

bool Coalescer::leave(const Wait& wait) {
  if (!wait.flight_) {
    return false;
  }
  Flight& flight = *wait.flight_;
  std::lock_guard lock(flight.shard_->mutex);
  if (flight.done_.load(std::memory_order_acquire)) {
    return false;
  }
  auto& waiters = flight.waiters_;
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->first == wait.id_) {
      waiters.erase(it);
      return true;
    }
  }
  return false;
}

std::size_t Coalescer::inFlight() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    n += shard->flights.size();
  }
  return n;
}

std::optional<FlightOutcome> Coalescer::Wait::poll() const {
  if (!flight_ || !flight_->done_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  return flight_->outcome_;
}

Coalescer::Leadership& Coalescer::Leadership::operator=(Leadership&& other) noexcept {
  if (this != &other) {
    if (flight_) {
      publish({FlightOutcome::Kind::kAbandoned, nullptr});
    }
    flight_ = std::move(other.flight_);
  }
  return *this;
}

Coalescer::Leadership::~Leadership() {
  if (flight_) {
    publish({FlightOutcome::Kind::kAbandoned, nullptr});
  }
}

void Coalescer::Leadership::publish(FlightOutcome outcome) {
  if (!flight_) {
    return;
  }
  const std::shared_ptr<Flight> flight = std::move(flight_);
  std::vector<std::pair<std::uint64_t, Waiter>> waiters;
  {
    std::lock_guard lock(flight->shard_->mutex);
    auto& flights = flight->shard_->flights;
    if (auto it = flights.find(flight->key_); it != flights.end() && it->second == flight) {
      flights.erase(it);
    }
    flight->outcome_ = std::move(outcome);
    flight->done_.store(true, std::memory_order_release);
    waiters = std::move(flight->waiters_);
  }
  // Outside the lock: a waiter may join or lead again right away.
  for (auto& [id, waiter] : waiters) {
    if (waiter) {
      waiter(flight->outcome_);
    }
  }
}

}  // namespace fairway::cache
