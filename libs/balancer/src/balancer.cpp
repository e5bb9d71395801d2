#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include <fairway/balancer/balancer.hpp>

#include "pickers.hpp"

namespace fairway::balancer {
namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::max();

Status validate(const EndpointConfig& endpoint) {
  if (endpoint.id.empty()) {
    return Error{ErrorCode::kInvalidArgument, "endpoint id must not be empty"};
  }
  if (endpoint.weight < 1 || endpoint.weight > kMaxWeight) {
    return Error{ErrorCode::kInvalidWeight,
                 "endpoint '" + endpoint.id + "': weight " + std::to_string(endpoint.weight) +
                     " is not in [1, " + std::to_string(kMaxWeight) + "]"};
  }
  return {};
}

Error notFound(std::string_view id) {
  return Error{ErrorCode::kNotFound, "no endpoint with id '" + std::string(id) + "'"};
}

}  // namespace

Balancer::Balancer(Config config, std::unique_ptr<Picker> prototype)
    : config_(std::move(config)),
      prototype_(std::move(prototype)),
      published_(nullptr),
      refreshAt_(kNever),
      randomState_(config_.seed) {
  std::lock_guard lock(updateMutex_);
  for (const EndpointConfig& endpoint : config_.endpoints) {
    addLocked(endpoint, std::nullopt);
  }
  publishLocked(std::nullopt);
}

Balancer::~Balancer() = default;

Status Balancer::add(const EndpointConfig& endpoint, TimePoint now) {
  if (Status s = validate(endpoint); !s) {
    return s;
  }
  std::lock_guard lock(updateMutex_);
  if (indexById_.contains(endpoint.id)) {
    return Error{ErrorCode::kDuplicateId, "endpoint id '" + endpoint.id + "' is already present"};
  }
  addLocked(endpoint, now);
  publishLocked(now);
  return {};
}

// `joinedAt` is empty for the initial endpoints, which join at full weight.
void Balancer::addLocked(const EndpointConfig& endpoint, std::optional<TimePoint> joinedAt) {
  auto e = std::make_shared<Endpoint>(endpoint.id, endpoint.address);
  e->weight_ = endpoint.weight;
  e->available_ = endpoint.available;
  e->ramping_ = endpoint.available && joinedAt && config_.slowStart.window.count() > 0;
  e->rampStart_ = joinedAt.value_or(TimePoint{});
  indexById_.emplace(endpoint.id, members_.size());
  members_.push_back(std::move(e));
  ++membershipVersion_;
}

Status Balancer::remove(std::string_view id) {
  std::lock_guard lock(updateMutex_);
  auto it = indexById_.find(std::string(id));
  if (it == indexById_.end()) {
    return notFound(id);
  }
  const std::size_t index = it->second;
  indexById_.erase(it);
  // A pick on an older snapshot may still lease it; draining_ keeps it alive until it is safe.
  draining_.push_back(members_[index]);
  members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(index));
  for (std::size_t i = index; i < members_.size(); ++i) {
    indexById_[members_[i]->id()] = i;
  }
  ++membershipVersion_;
  publishLocked(std::nullopt);
  return {};
}

Status Balancer::setWeight(std::string_view id, std::int64_t weight) {
  if (Status s = validate({std::string(id), {}, weight, true}); !s) {
    return s;
  }
  std::lock_guard lock(updateMutex_);
  auto e = findLocked(id);
  if (!e) {
    return notFound(id);
  }
  if (e->weight_ != weight) {
    e->weight_ = weight;
    ++membershipVersion_;
    publishLocked(std::nullopt);
  }
  return {};
}

Status Balancer::setAvailable(std::string_view id, bool available, TimePoint now) {
  std::lock_guard lock(updateMutex_);
  auto e = findLocked(id);
  if (!e) {
    return notFound(id);
  }
  if (e->available_ != available) {
    e->available_ = available;
    e->ramping_ = available && config_.slowStart.window.count() > 0;
    e->rampStart_ = now;
    publishLocked(now);
  }
  return {};
}

void Balancer::refresh(TimePoint now) {
  std::lock_guard lock(updateMutex_);
  publishLocked(now);
}

std::shared_ptr<Endpoint> Balancer::findLocked(std::string_view id) const {
  auto it = indexById_.find(std::string(id));
  return it == indexById_.end() ? nullptr : members_[it->second];
}

// Builds and publishes a snapshot of the current membership. Without an instant, slow-start
// factors are computed at the latest instant seen.
void Balancer::publishLocked(std::optional<TimePoint> at) {
  if (at && *at > lastNow_) {
    lastNow_ = *at;
  }
  const TimePoint now = lastNow_;

  auto next = std::make_shared<Snapshot>();
  next->generation = (latest_ ? latest_->generation : 0) + 1;
  next->membershipVersion = membershipVersion_;
  next->members = members_;
  next->weights.reserve(members_.size());
  next->candidateOfMember.assign(members_.size(), -1);

  const SlowStartConfig& ramp = config_.slowStart;
  Clock::rep nextRefresh = kNever;
  std::size_t available = 0;
  for (const auto& e : members_) {
    next->weights.push_back(e->weight_);
    available += e->available_ ? 1 : 0;
  }
  const std::size_t total = members_.size();
  next->panic =
      config_.panic.threshold > 0 && total > 0 &&
      static_cast<double>(available) < config_.panic.threshold * static_cast<double>(total);
  const bool includeAll = next->panic && config_.panic.mode == PanicConfig::Mode::kBalanceAll;
  const bool none = next->panic && config_.panic.mode == PanicConfig::Mode::kFail;

  for (std::size_t i = 0; i < total && !none; ++i) {
    Endpoint& e = *members_[i];
    if (!e.available_ && !includeAll) {
      continue;
    }
    double factor = 1.0;
    if (e.ramping_ && e.available_) {
      const auto elapsed = now - e.rampStart_;
      if (elapsed >= ramp.window) {
        e.ramping_ = false;
      } else {
        const double progress =
            std::max(0.0, std::chrono::duration<double>(elapsed).count() /
                              std::chrono::duration<double>(ramp.window).count());
        factor = std::max(ramp.minWeightPercent / 100.0, std::pow(progress, 1.0 / ramp.aggression));
        const auto step = std::max<Clock::rep>(
            1, std::chrono::duration_cast<Clock::duration>(ramp.window).count() / ramp.steps);
        const Clock::rep sinceStart = std::max<Clock::rep>(0, elapsed.count());
        const Clock::rep due =
            e.rampStart_.time_since_epoch().count() + (sinceStart / step + 1) * step;
        nextRefresh = std::min(nextRefresh, due);
      }
    }
    const auto weight = static_cast<std::uint64_t>(std::max(
        1.0,
        std::round(static_cast<double>(e.weight_) * static_cast<double>(kWeightScale) * factor)));
    next->candidateOfMember[i] = static_cast<std::int32_t>(next->candidates.size());
    next->candidates.push_back({&e, weight});
    next->totalWeight += weight;
  }
  for (const Candidate& c : next->candidates) {
    next->uniformWeights = next->uniformWeights && c.weight == next->candidates.front().weight;
  }

  next->picker = (latest_ ? *latest_->picker : *prototype_).rebuild(*next);
  latest_ = next;
  published_.publish(std::move(next));
  refreshAt_.store(nextRefresh, std::memory_order_relaxed);

  // A removed endpoint may go once no snapshot holds it (so no pick can lease it any more) and no
  // lease is open. Snapshots release their references with acquire-release decrements; the fence
  // orders this relaxed use_count() read after them, and the acquire load pairs with release().
  std::erase_if(draining_, [](const std::shared_ptr<Endpoint>& e) {
    if (e.use_count() != 1) {
      return false;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    return e->inFlight_.load(std::memory_order_acquire) == 0;
  });
}

const Snapshot& Balancer::current() const {
  return published_.read();
}

std::optional<Pick> Balancer::pick(const PickContext& context) {
  if (context.now.time_since_epoch().count() >= refreshAt_.load(std::memory_order_relaxed)) {
    std::unique_lock lock(updateMutex_, std::try_to_lock);
    if (lock.owns_lock()) {
      publishLocked(context.now);
    }
  }
  const Snapshot& snapshot = current();
  if (snapshot.candidates.empty()) {
    return std::nullopt;
  }
  std::size_t index;
  if (context.random != nullptr) {
    index = snapshot.picker->pick(context, *context.random);
  } else {
    // One shared step per pick keeps this thread-safe and, for one thread, deterministic.
    Random random(randomState_.fetch_add(kGolden, std::memory_order_relaxed));
    index = snapshot.picker->pick(context, random);
  }
  if (index == Picker::kNone) {
    return std::nullopt;
  }
  Endpoint* endpoint = snapshot.candidates[index].endpoint;
  endpoint->inFlight_.fetch_add(1, std::memory_order_relaxed);
  return Pick{endpoint, snapshot.generation, static_cast<std::uint32_t>(index)};
}

void Balancer::release(const Pick& pick, const Completion& completion) {
  current().picker->release(pick, completion);
  // Release ordering: a removed endpoint is freed only after observing this decrement.
  pick.endpoint->inFlight_.fetch_sub(1, std::memory_order_release);
}

std::vector<EndpointStatus> Balancer::endpoints() const {
  std::lock_guard lock(updateMutex_);
  const Snapshot& snapshot = *latest_;
  std::vector<EndpointStatus> out;
  out.reserve(snapshot.members.size());
  for (std::size_t i = 0; i < snapshot.members.size(); ++i) {
    const Endpoint& e = *snapshot.members[i];
    const std::int32_t candidate = snapshot.candidateOfMember[i];
    EndpointStatus status;
    status.id = e.id();
    status.address = e.address();
    status.weight = e.weight_;
    status.effectiveWeight =
        candidate < 0
            ? 0.0
            : static_cast<double>(snapshot.candidates[static_cast<std::size_t>(candidate)].weight) /
                  static_cast<double>(kWeightScale);
    status.available = e.available_;
    status.rampingUp = e.ramping_;
    status.inFlight = e.inFlight();
    status.latencyEwmaMs = e.latencyEwmaNs() / 1e6;
    out.push_back(std::move(status));
  }
  return out;
}

std::size_t Balancer::size() const {
  return current().members.size();
}

bool Balancer::panicking() const {
  return current().panic;
}

const std::vector<std::string>& algorithmNames() {
  static const std::vector<std::string> names = {
      "round_robin", "weighted_round_robin", "least_connections", "random",
      "p2c",         "least_request",        "consistent_hash",   "peak_ewma"};
  return names;
}

namespace {

Result<std::unique_ptr<Picker>> makePicker(const Config& config) {
  const std::string& name = config.algorithm;
  if (name == "round_robin") {
    return makeRoundRobin();
  }
  if (name == "weighted_round_robin") {
    return makeSmoothWeighted();
  }
  if (name == "least_connections") {
    return makeLeastConnections();
  }
  if (name == "random") {
    return makeWeightedRandom();
  }
  if (name == "p2c" || name == "least_request") {
    return makePowerOfTwo();
  }
  if (name == "consistent_hash") {
    return makeRingHash(config.hash);
  }
  if (name == "peak_ewma") {
    return makePeakEwma(config.ewma);
  }
  std::string known;
  for (const auto& n : algorithmNames()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  return Error{ErrorCode::kUnknownAlgorithm,
               "algorithm: unknown algorithm '" + name + "' (known: " + known + ")"};
}

Status validateConfig(const Config& config) {
  const auto invalid = [](const std::string& message) {
    return Error{ErrorCode::kInvalidArgument, message};
  };
  const SlowStartConfig& ramp = config.slowStart;
  if (ramp.window.count() < 0) {
    return invalid("slow_start.window: must not be negative");
  }
  if (!(ramp.aggression > 0) || !std::isfinite(ramp.aggression)) {
    return invalid("slow_start.aggression: must be a finite number above 0");
  }
  if (!(ramp.minWeightPercent > 0 && ramp.minWeightPercent <= 100)) {
    return invalid("slow_start.min_weight_percent: must be in (0, 100]");
  }
  if (ramp.steps < 1) {
    return invalid("slow_start.steps: must be at least 1");
  }
  if (!(config.panic.threshold >= 0 && config.panic.threshold <= 1)) {
    return invalid("panic.threshold: must be a share in [0, 1]");
  }
  if (config.hash.pointsPerEndpoint < 1 || config.hash.pointsPerEndpoint > 4096) {
    return invalid("hash.points_per_endpoint: must be in [1, 4096]");
  }
  if (config.hash.balanceFactor != 0 &&
      !(config.hash.balanceFactor > 1.0 && std::isfinite(config.hash.balanceFactor))) {
    return invalid("hash.balance_factor: must be 0 (off) or a finite number above 1");
  }
  if (config.ewma.decay.count() <= 0) {
    return invalid("ewma.decay: must be positive");
  }
  if (config.ewma.penalty.count() < 0) {
    return invalid("ewma.penalty: must not be negative");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Balancer>> make(const Config& config) {
  auto picker = makePicker(config);
  if (!picker) {
    return picker.error();
  }
  if (Status s = validateConfig(config); !s) {
    return s.error();
  }
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < config.endpoints.size(); ++i) {
    const EndpointConfig& endpoint = config.endpoints[i];
    const std::string where = "endpoints[" + std::to_string(i) + "]: ";
    if (Status s = validate(endpoint); !s) {
      return Error{s.error().code, where + s.message()};
    }
    if (auto [it, fresh] = seen.emplace(endpoint.id, i); !fresh) {
      return Error{ErrorCode::kDuplicateId, where + "id '" + endpoint.id +
                                                "' is already used by endpoints[" +
                                                std::to_string(it->second) + "]"};
    }
  }
  return std::make_unique<Balancer>(config, std::move(picker).value());
}

}  // namespace fairway::balancer
