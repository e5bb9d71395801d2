#include "upstream.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>

#include <fairway/core/random.hpp>

namespace fairway::proxy {

// Breaker transitions -> availability: open makes the endpoint unavailable until the open interval
// ends; half-open and closed make it available again (half-open admits only its probes: the
// worker asks the breaker before each call).
class UpstreamGroup::BreakerObserver final : public breaker::Observer {
 public:
  BreakerObserver(UpstreamGroup& group, EndpointState& endpoint)
      : group_(group), endpoint_(endpoint) {}

  // fairway::breaker::Observer
  void onTransition(const breaker::Transition& transition) override {
    bool open = transition.to == breaker::State::kOpen;
    endpoint_.breakerOpen.store(open, std::memory_order_relaxed);
    switch (transition.to) {
      case breaker::State::kOpen:
        group_.logEvent(Poco::Message::PRIO_WARNING, endpoint_,
                        "breaker open for " +
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               transition.openFor)
                                               .count()) +
                            " ms");
        break;
      case breaker::State::kHalfOpen:
        group_.logEvent(Poco::Message::PRIO_NOTICE, endpoint_, "breaker half-open: probing");
        break;
      case breaker::State::kClosed:
        group_.logEvent(Poco::Message::PRIO_NOTICE, endpoint_, "breaker closed");
        break;
    }
    group_.refreshAvailability(endpoint_, transition.at);
    if (open && group_.breakerOpened_) {
      group_.breakerOpened_(endpoint_, transition.at + transition.openFor);
    }
  }

 private:
  UpstreamGroup& group_;
  EndpointState& endpoint_;
};

// Active and passive health changes -> availability.
class UpstreamGroup::HealthObserver final : public health::Observer {
 public:
  HealthObserver(UpstreamGroup& group, bool active) : group_(group), active_(active) {}

  // fairway::health::Observer
  void onHealthChange(const health::HealthEvent& event) override {
    auto it = group_.byId_.find(event.endpoint);
    if (it == group_.byId_.end()) {
      return;
    }
    EndpointState& endpoint = *it->second;
    if (active_) {
      const bool up = event.to != health::HealthState::kDown;
      endpoint.healthUp.store(up, std::memory_order_relaxed);
      group_.logEvent(up ? Poco::Message::PRIO_NOTICE : Poco::Message::PRIO_WARNING, endpoint,
                      up ? "health checks pass: up" : "health checks fail: down");
    } else {
      const bool ejected = event.to == health::HealthState::kEjected;
      endpoint.ejected.store(ejected, std::memory_order_relaxed);
      group_.logEvent(ejected ? Poco::Message::PRIO_WARNING : Poco::Message::PRIO_NOTICE, endpoint,
                      ejected ? "ejected by outlier detection" : "back from outlier ejection");
    }
    group_.refreshAvailability(endpoint, event.at);
  }

 private:
  UpstreamGroup& group_;
  bool active_;
};

void UpstreamGroup::logEvent(Poco::Message::Priority priority, const EndpointState& endpoint,
                             const std::string& what) const {
  if (log_ && log_->enabled(priority)) {
    log_->write(priority, "upstream " + config_.name + ", backend " + endpoint.id + " (" +
                              endpoint.config.host + ":" + std::to_string(endpoint.config.port) +
                              "): " + what);
  }
}

namespace {

bool resolve(const BackendConfig& backend, EndpointState& endpoint, std::string& error) {
  std::string host = backend.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  std::string port = std::to_string(backend.port);
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    error = "backend " + backend.url + ": cannot resolve host '" + host + "': " + gai_strerror(rc);
    return false;
  }
  // Prefer IPv4 (loopback names resolve to both; most backends listen on IPv4).
  addrinfo* chosen = result;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      chosen = ai;
      break;
    }
  }
  std::memcpy(&endpoint.address, chosen->ai_addr, chosen->ai_addrlen);
  endpoint.addressSize = chosen->ai_addrlen;
  ::freeaddrinfo(result);
  return true;
}

}  // namespace

std::unique_ptr<UpstreamGroup> UpstreamGroup::make(const UpstreamConfig& config, std::size_t index,
                                                   TimePoint now, std::string& error) {
  std::unique_ptr<UpstreamGroup> group(new UpstreamGroup());
  group->config_ = config;
  group->index_ = index;
  const std::string where = "upstreams." + config.name;

  balancer::Config lbConfig = config.balancer;
  lbConfig.endpoints.clear();
  for (const BackendConfig& backend : config.backends) {
    auto endpoint = std::make_unique<EndpointState>();
    endpoint->index = group->endpoints_.size();
    endpoint->config = backend;
    endpoint->id =
        backend.id.empty() ? backend.host + ":" + std::to_string(backend.port) : backend.id;
    if (!resolve(backend, *endpoint, error)) {
      error = where + ": " + error;
      return nullptr;
    }
    lbConfig.endpoints.push_back(
        {endpoint->id, backend.host + ":" + std::to_string(backend.port), backend.weight, true});
    group->endpoints_.push_back(std::move(endpoint));
  }
  auto lb = balancer::make(lbConfig);
  if (!lb) {
    error = where + ".load_balancer: " + lb.error().message;
    return nullptr;
  }
  group->balancer_ = std::move(lb.value());
  for (auto& endpoint : group->endpoints_) {
    group->byId_.emplace(endpoint->id, endpoint.get());
  }

  if (config.breaker) {
    for (auto& endpoint : group->endpoints_) {
      breaker::Config breakerConfig = *config.breaker;
      breakerConfig.seed = core::hashKey(endpoint->id) ^ breakerConfig.seed;
      auto observer = std::make_shared<BreakerObserver>(*group, *endpoint);
      auto made = breaker::make(breakerConfig, {observer});
      if (!made) {
        error = where + ".breaker: " + made.error().message;
        return nullptr;
      }
      endpoint->breaker = std::move(made.value());
    }
  }

  auto outliers = health::makeOutlierDetector(config.outlier);
  if (!outliers) {
    error = where + ".outlier: " + outliers.error().message;
    return nullptr;
  }
  group->outliers_ = std::move(outliers.value());
  group->outliers_->subscribe(std::make_shared<HealthObserver>(*group, false));
  for (auto& endpoint : group->endpoints_) {
    (void)group->outliers_->add(endpoint->id);
  }

  if (config.healthCheck) {
    auto checker = health::makeHealthChecker(*config.healthCheck);
    if (!checker) {
      error = where + ".health_check: " + checker.error().message;
      return nullptr;
    }
    group->checker_ = std::move(checker.value());
    group->checker_->subscribe(std::make_shared<HealthObserver>(*group, true));
    for (auto& endpoint : group->endpoints_) {
      (void)group->checker_->add(
          endpoint->id, endpoint->config.host + ":" + std::to_string(endpoint->config.port), now);
      auto state = group->checker_->state(endpoint->id);
      endpoint->healthUp.store(!state || *state != health::HealthState::kDown);
      group->refreshAvailability(*endpoint, now);
    }
  }
  return group;
}

UpstreamGroup::~UpstreamGroup() = default;

EndpointState* UpstreamGroup::endpointOf(const balancer::Endpoint* endpoint) const {
  auto it = byId_.find(endpoint->id());
  return it == byId_.end() ? nullptr : it->second;
}

void UpstreamGroup::refreshAvailability(EndpointState& endpoint, TimePoint now) {
  std::lock_guard lock(availabilityMutex_);
  bool available = endpoint.healthUp.load(std::memory_order_relaxed) &&
                   !endpoint.ejected.load(std::memory_order_relaxed) &&
                   !endpoint.breakerOpen.load(std::memory_order_relaxed);
  if (available != endpoint.availableInBalancer) {
    endpoint.availableInBalancer = available;
    (void)balancer_->setAvailable(endpoint.id, available, now);
  }
}

void UpstreamGroup::probeSlotsFull(EndpointState& endpoint, TimePoint now) {
  endpoint.breakerOpen.store(true, std::memory_order_relaxed);
  refreshAvailability(endpoint, now);
}

void UpstreamGroup::breakerRecorded(EndpointState& endpoint, TimePoint now) {
  if (endpoint.breaker->state() == breaker::State::kHalfOpen &&
      endpoint.breakerOpen.load(std::memory_order_relaxed)) {
    endpoint.breakerOpen.store(false, std::memory_order_relaxed);
    refreshAvailability(endpoint, now);
  }
}

bool UpstreamGroup::tryStartRetry() {
  std::int64_t active = activeRequests_.load(std::memory_order_relaxed);
  auto allowed =
      static_cast<std::int64_t>(config_.retry.budgetPercent / 100.0 * static_cast<double>(active));
  if (allowed < config_.retry.minRetriesInFlight) {
    allowed = config_.retry.minRetriesInFlight;
  }
  std::int64_t current = activeRetries_.load(std::memory_order_relaxed);
  while (current < allowed) {
    if (activeRetries_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace fairway::proxy
