#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <Poco/AsyncChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/StreamChannel.h>

#include <fairway/proxy/server.hpp>

#include "admin.hpp"
#include "health_service.hpp"
#include "runtime.hpp"
#include "worker.hpp"

namespace fairway::proxy {

struct Server::State {
  Runtime runtime;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::unique_ptr<HealthService> health;
  std::unique_ptr<AdminServer> admin;
  std::vector<std::uint16_t> ports;
  std::vector<std::vector<int>> listenerFds;  // [listener][worker]: owned by the workers
  bool started = false;
  bool stopped = false;
  std::mutex mutex;
};

namespace {

// A non-blocking listening socket with SO_REUSEPORT, so that every worker has its own and the
// kernel spreads connections across them.
int openListener(const std::string& address, std::uint16_t port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string host = address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    error = "listener " + address + ":" + service + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = ::socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  if (fd < 0 || ::bind(fd, result->ai_addr, result->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
    error = "listener " + address + ":" + service + ": " + std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    ::freeaddrinfo(result);
    return -1;
  }
  ::freeaddrinfo(result);
  return fd;
}

std::uint16_t boundPort(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

}  // namespace

Result<std::unique_ptr<Server>> Server::make(Config config) {
  auto state = std::make_unique<State>();
  if (config.upstreams.empty()) {
    return Error{ErrorCode::kInvalidConfig, "backends: at least one backend is required"};
  }
  if (config.listeners.empty()) {
    return Error{ErrorCode::kInvalidConfig, "server.port: no listener configured"};
  }
  TimePoint now = Clock::now();
  {
    std::string error;
    state->runtime.eventLog = EventLog::make(config.log, error);
    if (!state->runtime.eventLog) {
      return Error{ErrorCode::kInvalidConfig, error};
    }
  }
  std::vector<Router::Route> routes;
  for (std::size_t i = 0; i < config.upstreams.size(); ++i) {
    std::string error;
    auto group = UpstreamGroup::make(config.upstreams[i], i, now, error);
    if (!group) {
      return Error{ErrorCode::kResolve, error};
    }
    group->setEventLog(state->runtime.eventLog);
    state->runtime.groups.push_back(std::move(group));
  }
  for (const RouteConfig& route : config.routes) {
    std::size_t target = config.upstreams.size();
    for (std::size_t i = 0; i < config.upstreams.size(); ++i) {
      if (config.upstreams[i].name == route.upstream) {
        target = i;
      }
    }
    if (target == config.upstreams.size()) {
      return Error{ErrorCode::kInvalidConfig,
                   "routes: upstream '" + route.upstream + "' is not defined"};
    }
    routes.push_back({route.host, route.pathPrefix, routes.size()});
    state->runtime.routeUpstream.push_back(target);
    state->runtime.routeNames.push_back((route.host.empty() ? "*" : route.host) + route.pathPrefix);
  }
  if (routes.empty()) {
    routes.push_back({"", "/", 0});
    state->runtime.routeUpstream.push_back(0);
    state->runtime.routeNames.push_back("*/");
  }
  state->runtime.router = std::make_unique<Router>(routes);
  if (config.rateLimit.enabled) {
    ratelimit::Config limit;
    limit.algorithm = config.rateLimit.algorithm;
    limit.rate.requestsPerSecond = config.rateLimit.requestsPerSecond;
    limit.rate.burst = static_cast<std::int64_t>(config.rateLimit.burst);
    limit.maxKeys = config.rateLimit.maxKeys;
    if (const auto& redis = config.rateLimit.redis) {
      ratelimit::redis::RedisConfig shared;
      shared.host = redis->host;
      shared.port = redis->port;
      shared.connectTimeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(redis->connectTimeout);
      shared.commandTimeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(redis->commandTimeout);
      shared.failMode =
          redis->failMode == "closed"  ? ratelimit::redis::RedisConfig::FailMode::kClosed
          : redis->failMode == "local" ? ratelimit::redis::RedisConfig::FailMode::kLocal
                                       : ratelimit::redis::RedisConfig::FailMode::kOpen;
      shared.mode = redis->mode == "batched" ? ratelimit::redis::RedisConfig::Mode::kBatched
                                             : ratelimit::redis::RedisConfig::Mode::kExact;
      shared.batch = redis->batch;
      shared.connections = static_cast<std::size_t>(redis->threads);
      auto limiter = ratelimit::redis::SharedLimiter::make(limit, shared);
      if (!limiter) {
        return Error{ErrorCode::kInvalidConfig, limiter.error().message};
      }
      state->runtime.sharedLimiter =
          std::make_unique<RateLimitService>(std::move(limiter.value()), redis->threads);
    } else {
      auto limiter = ratelimit::make(limit);
      if (!limiter) {
        return Error{ErrorCode::kInvalidConfig, "rate_limit: " + limiter.error().message};
      }
      state->runtime.limiter = std::move(limiter.value());
    }
  }
  if (config.cache.enabled) {
    std::string error;
    state->runtime.cache = CacheService::make(config.cache, error);
    if (!state->runtime.cache) {
      return Error{ErrorCode::kInvalidConfig, error};
    }
  }
  if (!config.log.accessLog.empty()) {
    try {
      Poco::AutoPtr<Poco::Channel> sink;
      if (config.log.accessLog == "-") {
        sink = new Poco::StreamChannel(std::cout);
      } else {
        auto* file = new Poco::FileChannel(config.log.accessLog);
        sink = file;
        file->open();  // fails now, with the path in the message, rather than on the first line
      }
      state->runtime.accessLog = new Poco::AsyncChannel(sink);
      state->runtime.accessLog->open();
    } catch (const Poco::Exception& e) {
      return Error{ErrorCode::kInvalidConfig, "log.access: " + e.displayText()};
    }
  }
  state->runtime.config = std::move(config);
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

Server::Server(std::unique_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() {
  stop();
}

const Config& Server::config() const {
  return state_->runtime.config;
}

Status Server::start(const Server* previous) {
  std::lock_guard lock(state_->mutex);
  if (state_->started) {
    return Error{ErrorCode::kSystem, "already started"};
  }
  Runtime& runtime = state_->runtime;
  std::size_t workers = runtime.config.workers > 0
                            ? static_cast<std::size_t>(runtime.config.workers)
                            : std::max(1U, std::thread::hardware_concurrency());
  if (previous != nullptr && runtime.cache && previous->state_->runtime.cache) {
    // The cache section is unchanged: the stored responses carry over to this configuration.
    runtime.cache->adoptStorage(*previous->state_->runtime.cache);
  }
  for (std::size_t i = 0; i < workers; ++i) {
    state_->workers.push_back(std::make_unique<Worker>(runtime, i));
  }
  for (const ListenerConfig& listener : runtime.config.listeners) {
    // A reload keeps the previous server's sockets for an unchanged listener (dup'd: each
    // server's workers close their own copies).
    std::vector<int> inherited;
    std::uint16_t port = listener.port;
    if (previous != nullptr) {
      const Config& before = previous->state_->runtime.config;
      for (std::size_t i = 0; i < before.listeners.size(); ++i) {
        if (before.listeners[i].address == listener.address &&
            before.listeners[i].port == listener.port && i < previous->state_->listenerFds.size()) {
          inherited = previous->state_->listenerFds[i];
          port = previous->state_->ports[i];
        }
      }
    }
    std::vector<int> fds;
    std::size_t sockets = std::max(inherited.size(), state_->workers.size());
    for (std::size_t i = 0; i < sockets; ++i) {
      std::string error;
      int fd = i < inherited.size() ? ::fcntl(inherited[i], F_DUPFD_CLOEXEC, 0)
                                    : openListener(listener.address, port, error);
      if (fd < 0) {
        state_->workers.clear();
        return Error{ErrorCode::kListen,
                     error.empty() ? std::string("dup: ") + std::strerror(errno) : error};
      }
      port = boundPort(fd);  // port 0: every worker binds the port the first one got
      // More inherited sockets than workers: some workers watch two, none is dropped.
      if (!state_->workers[i % state_->workers.size()]->adoptListener(fd, error)) {
        state_->workers.clear();  // the worker closed `fd`
        return Error{ErrorCode::kSystem, error};
      }
      fds.push_back(fd);
    }
    state_->listenerFds.push_back(std::move(fds));
    state_->ports.push_back(port);
  }
  if (runtime.config.admin.enabled) {
    state_->admin = std::make_unique<AdminServer>(*this);
    std::string error;
    if (!state_->admin->start(runtime.config.admin.address, runtime.config.admin.port, error)) {
      state_->admin.reset();
      state_->workers.clear();
      return Error{ErrorCode::kListen, "admin: " + error};
    }
  }
  std::vector<UpstreamGroup*> groups;
  for (auto& group : runtime.groups) {
    groups.push_back(group.get());
  }
  state_->health = std::make_unique<HealthService>(std::move(groups));
  state_->health->start();
  for (auto& worker : state_->workers) {
    state_->threads.emplace_back([w = worker.get()] { w->run(); });
  }
  state_->started = true;
  std::string listening;
  for (std::size_t i = 0; i < state_->ports.size(); ++i) {
    listening += (i ? ", " : "") + runtime.config.listeners[i].address + ":" +
                 std::to_string(state_->ports[i]);
  }
  log(Poco::Message::PRIO_INFORMATION,
      "started: listening on " + listening + ", " + std::to_string(state_->workers.size()) +
          " workers" + (previous != nullptr ? " (reload: the previous configuration drains)" : ""));
  return {};
}

void Server::log(int priority, const std::string& text) {
  const auto p = static_cast<Poco::Message::Priority>(priority);
  if (state_->runtime.eventLog) {
    state_->runtime.eventLog->write(p, text);
  }
}

std::uint16_t Server::port(std::size_t listener) const {
  return listener < state_->ports.size() ? state_->ports[listener] : 0;
}

std::uint16_t Server::adminPort() const {
  return state_->admin ? state_->admin->port() : 0;
}

bool Server::drain(std::chrono::nanoseconds grace) {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->started || state_->stopped) {
      return true;
    }
    state_->runtime.draining.store(true);
    state_->runtime.eventLog->write(Poco::Message::PRIO_INFORMATION,
                                    "draining: no new connections; in-flight requests finish");
    for (auto& worker : state_->workers) {
      worker->drain();
    }
  }
  TimePoint deadline = Clock::now() + grace;
  bool finished = false;
  while (Clock::now() < deadline) {
    if (state_->runtime.connections.load() == 0) {
      finished = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a process draining, not a test
  }
  stop();
  return finished;
}

void Server::stop() {
  std::lock_guard lock(state_->mutex);
  if (!state_->started || state_->stopped) {
    return;
  }
  state_->stopped = true;
  if (state_->admin) {
    state_->admin->stop();
  }
  for (auto& worker : state_->workers) {
    worker->stop();
  }
  for (auto& thread : state_->threads) {
    thread.join();
  }
  if (state_->health) {
    state_->health->stop();
  }
  // Their threads hand results to the workers' loops: gone before the workers are. A cache
  // flight's waiters may still be told (as connections close): `stopped` keeps them from
  // posting to loops that are going.
  state_->runtime.stopped.store(true);
  state_->runtime.sharedLimiter.reset();
  if (state_->runtime.cache) {
    state_->runtime.cache->stopThreads();
  }
  state_->workers.clear();  // closes every connection
  if (state_->runtime.accessLog) {
    state_->runtime.accessLog->close();  // writes what is queued
  }
  state_->runtime.eventLog->write(Poco::Message::PRIO_INFORMATION, "stopped");
  state_->runtime.eventLog->close();
}

Result<std::size_t> Server::purgeCache(PurgeBy by, std::string_view value) {
  CacheService* service = state_->runtime.cache.get();
  if (service == nullptr) {
    return Error{ErrorCode::kInvalidConfig, "the cache is off (no cache section)"};
  }
  cache::Result<std::size_t> purged = std::size_t{0};
  switch (by) {
    case PurgeBy::kUri: {
      std::optional<std::string> key = absoluteCacheKey(value);
      if (!key) {
        return Error{ErrorCode::kInvalidConfig,
                     "uri: must be absolute, http://host/path (got '" + std::string(value) + "')"};
      }
      purged = service->cache().purge(*key);
      break;
    }
    case PurgeBy::kPrefix:
      purged = service->cache().purgePrefix(normalizeKeyPrefix(value));
      break;
    case PurgeBy::kTag:
      purged = service->cache().purgeTag(value);
      break;
  }
  if (!purged) {
    return Error{ErrorCode::kSystem, purged.error().message};
  }
  return purged.value();
}

namespace {

// Adds one worker's histogram to the snapshot's.
void addHistogram(const LatencyHistogram& h, std::vector<std::uint64_t>& buckets, double& sum) {
  for (std::size_t b = 0; b < h.buckets.size() && b < buckets.size(); ++b) {
    buckets[b] += h.buckets[b].get();
  }
  sum += static_cast<double>(h.sumNs.get()) / 1e9;
}

}  // namespace

MetricsSnapshot Server::metrics() const {
  MetricsSnapshot out;
  out.latencyBounds.assign(kLatencyBounds.begin(), kLatencyBounds.end());
  out.latencyBuckets.assign(kLatencyBounds.size() + 1, 0);
  for (const auto& group : state_->runtime.groups) {
    MetricsSnapshot::Upstream& u = out.upstreams.emplace_back();
    u.name = group->config().name;
    u.headerLatencyBuckets.assign(kLatencyBounds.size() + 1, 0);
  }
  for (std::size_t r = 0; r < state_->runtime.routeNames.size(); ++r) {
    out.routes.push_back({state_->runtime.routeNames[r],
                          state_->runtime.groups[state_->runtime.routeUpstream[r]]->config().name,
                          {0, 0, 0, 0, 0, 0}});
  }
  for (const auto& worker : state_->workers) {
    const WorkerMetrics& m = worker->metrics();
    out.accepted += m.accepted.get();
    out.refused += m.refused.get();
    out.requests += m.requests.get();
    for (std::size_t i = 0; i < 6; ++i) {
      out.responses[i] += m.responses[i].get();
    }
    out.badRequests += m.badRequests.get();
    out.clientTimeouts += m.clientTimeouts.get();
    out.noRoute += m.noRoute.get();
    out.noEndpoint += m.noEndpoint.get();
    out.upstreamConnectFailures += m.upstreamConnectFailures.get();
    out.upstreamTimeouts += m.upstreamTimeouts.get();
    out.upstreamResets += m.upstreamResets.get();
    out.upstreamBadResponses += m.upstreamBadResponses.get();
    out.retries += m.retries.get();
    out.rateLimited += m.rateLimited.get();
    addHistogram(m.latency, out.latencyBuckets, out.latencySumSeconds);
    for (std::size_t r = 0; r < m.routeResponses.size() && r < out.routes.size(); ++r) {
      for (std::size_t c = 0; c < 6; ++c) {
        out.routes[r].responses[c] += m.routeResponses[r][c].get();
      }
    }
    for (std::size_t g = 0; g < m.upstreamResponses.size() && g < out.upstreams.size(); ++g) {
      for (std::size_t c = 0; c < 6; ++c) {
        out.upstreams[g].responses[c] += m.upstreamResponses[g][c].get();
      }
      addHistogram(m.upstreamHeaderLatency[g], out.upstreams[g].headerLatencyBuckets,
                   out.upstreams[g].headerLatencySumSeconds);
    }
    out.rateLimitedDryRun += m.rateLimitedDryRun.get();
    out.upstreamConnects += m.upstreamConnects.get();
    out.upstreamReuses += m.upstreamReuses.get();
    out.bytesFromClients += m.bytesFromClients.get();
    out.bytesToClients += m.bytesToClients.get();
    out.activeConnections += static_cast<std::int64_t>(m.activeConnections.get());
    out.activeRequests += static_cast<std::int64_t>(m.activeRequests.get());
    out.idleReleases += m.idleReleases.get();
  }
  if (const auto& shared = state_->runtime.sharedLimiter) {
    auto stats = shared->stats();
    out.rateLimitRedisCalls = stats.redisCalls;
    out.rateLimitRedisErrors = stats.redisErrors;
    out.rateLimitDegradedDecisions = stats.degradedDecisions;
  }
  if (const auto& cache = state_->runtime.cache) {
    const CacheService::Stats stats = cache->stats();
    MetricsSnapshot::Cache& c = out.cache;
    c.enabled = true;
    c.hits = stats.cache.hits;
    c.staleHits = stats.cache.staleHits;
    c.misses = stats.cache.misses;
    c.revalidations = stats.cache.revalidations;
    c.notModified = stats.cache.notModified;
    c.coalesced = stats.cache.coalesced;
    c.stores = stats.cache.stores;
    c.passes = stats.cache.passes;
    c.invalidations = stats.cache.invalidations;
    c.storeErrors = stats.cache.storeErrors;
    c.entries = stats.memory.entries;
    c.bytes = stats.memory.bytes;
    c.evictions = stats.memory.evictions;
    if (stats.redis) {
      c.redisEnabled = true;
      c.redisDegraded = stats.redisDegraded;
      c.redisLookups = stats.redis->lookups;
      c.redisHits = stats.redis->hits;
      c.redisErrors = stats.redis->errors;
    }
    c.refreshes = stats.refreshes;
    c.refreshFailures = stats.refreshFailures;
  }
  for (const auto& group : state_->runtime.groups) {
    std::vector<balancer::EndpointStatus> statuses = group->balancer().endpoints();
    for (const auto& endpoint : group->endpoints()) {
      MetricsSnapshot::Endpoint e;
      e.upstream = group->config().name;
      e.id = endpoint->id;
      e.address = endpoint->config.host + ":" + std::to_string(endpoint->config.port);
      for (const auto& status : statuses) {
        if (status.id == endpoint->id) {
          e.weight = status.weight;
          e.available = status.available;
          e.inFlight = status.inFlight;
        }
      }
      e.healthUp = endpoint->healthUp.load();
      e.ejected = endpoint->ejected.load();
      if (!endpoint->breaker) {
        e.breaker = "off";
      } else {
        switch (endpoint->breaker->state()) {
          case breaker::State::kClosed:
            e.breaker = "closed";
            break;
          case breaker::State::kOpen:
            e.breaker = "open";
            break;
          case breaker::State::kHalfOpen:
            e.breaker = "half_open";
            break;
        }
      }
      e.requests = endpoint->requests.load();
      e.failures = endpoint->failures.load();
      e.connectFailures = endpoint->connectFailures.load();
      out.endpoints.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace fairway::proxy
