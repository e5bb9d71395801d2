#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/core/result.hpp>
#include <fairway/proxy/config.hpp>

namespace fairway::proxy {

enum class ErrorCode {
  kInvalidConfig,  // the configuration cannot run (the message names the key)
  kResolve,        // a backend's host does not resolve
  kListen,         // a listener or the admin port cannot be bound
  kSystem,         // the kernel refused a resource (epoll, threads, descriptors)
};
using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

// A point-in-time copy of the proxy's counters, merged across workers (for /stats, /metrics,
// tests). Counters only grow; gauges (active*) are current values.
struct MetricsSnapshot {
  std::uint64_t accepted = 0, refused = 0, requests = 0;
  std::uint64_t responses[6] = {0, 0, 0, 0, 0, 0};  // [n]: status class nxx
  std::uint64_t badRequests = 0, clientTimeouts = 0, noRoute = 0, noEndpoint = 0;
  std::uint64_t upstreamConnectFailures = 0, upstreamTimeouts = 0, upstreamResets = 0;
  std::uint64_t upstreamBadResponses = 0, retries = 0, upstreamConnects = 0;
  std::uint64_t upstreamReuses = 0, bytesFromClients = 0, bytesToClients = 0;
  std::uint64_t rateLimited = 0, rateLimitedDryRun = 0;
  // rate_limit.redis: round trips, failures (timeouts, resets, error replies) and decisions
  // made by fail_mode while Redis was unreachable.
  std::uint64_t rateLimitRedisCalls = 0, rateLimitRedisErrors = 0, rateLimitDegradedDecisions = 0;
  // Request duration histogram: latencyBounds[i] seconds (the last bucket is +Inf); counts are
  // per bucket, not cumulative. The upstream histograms below use the same bounds.
  std::vector<double> latencyBounds;
  std::vector<std::uint64_t> latencyBuckets;
  double latencySumSeconds = 0;
  struct Upstream {
    std::string name;
    std::uint64_t responses[6] = {0, 0, 0, 0, 0, 0};  // as `responses`
    // Attempt start (connect, or a pooled connection taken) to the backend's final response
    // head, for every attempt that got one (retried ones too); as latencyBuckets.
    std::vector<std::uint64_t> headerLatencyBuckets;
    double headerLatencySumSeconds = 0;
  };
  std::vector<Upstream> upstreams;
  struct Route {
    std::string name;      // host (or "*") and path prefix: "api.example.com/v1/", "*/"
    std::string upstream;  // where it sends requests
    std::uint64_t responses[6] = {0, 0, 0, 0, 0, 0};  // as `responses`
  };
  std::vector<Route> routes;
  std::int64_t activeConnections = 0, activeRequests = 0;
  // Keep-alive connections that freed their exchange's buffers after
  // timeouts.keep_alive_release idle.
  std::uint64_t idleReleases = 0;

  struct Endpoint {
    std::string upstream, id, address;
    std::int64_t weight = 0;
    bool available = false, healthUp = true, ejected = false;
    std::string breaker;  // closed | open | half_open | off
    std::int64_t inFlight = 0;
    std::uint64_t requests = 0, failures = 0, connectFailures = 0;
  };
  std::vector<Endpoint> endpoints;

  // cache.*: the response cache (all zero when it is off).
  struct Cache {
    bool enabled = false;
    std::uint64_t hits = 0, staleHits = 0, misses = 0, revalidations = 0, notModified = 0;
    std::uint64_t coalesced = 0, stores = 0, passes = 0, invalidations = 0, storeErrors = 0;
    std::uint64_t entries = 0, bytes = 0, evictions = 0;  // the memory tier
    bool redisEnabled = false, redisDegraded = false;     // cache.redis
    std::uint64_t redisLookups = 0, redisHits = 0, redisErrors = 0;
    std::uint64_t refreshes = 0, refreshFailures = 0;  // stale-while-revalidate, in the background
  } cache;
};

// What a cache purge removes (the admin interface's /cache/purge).
enum class PurgeBy { kUri, kPrefix, kTag };

// The reverse proxy: shared-nothing worker event loops (one per CPU by default) accepting on
// SO_REUSEPORT listeners, routing each request by host and longest path prefix to an upstream
// group whose balancer, breakers and health checks pick a backend, over pooled keep-alive
// connections; an admin HTTP listener; a health thread running active probes.
//
// Thread-safe: start(), drain(), stop() and metrics() may be called from any one thread.
class Server {
 public:
  // Resolves backends and builds every policy; errors name the key or backend. Does not bind.
  static Result<std::unique_ptr<Server>> make(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners (port 0: a free port, the same for every worker) and the admin port,
  // then starts the workers and the health thread.
  //
  // Reload: with `previous` (a running server), every listener whose address and port are
  // unchanged takes over `previous`'s listening sockets instead of binding new ones, so no
  // connection waiting to be accepted is lost; then drain `previous`. Only `previous`'s
  // listeners are shared: its connections, pools and health state stay its own until drained.
  Status start(const Server* previous = nullptr);
  // The bound port of listener `i` / of the admin listener (0 when disabled), after start().
  std::uint16_t port(std::size_t listener = 0) const;
  std::uint16_t adminPort() const;

  // Stops accepting; in-flight requests finish and their connections close after the response;
  // idle connections close now. Waits up to `grace`, then stops. True if everything finished.
  bool drain(std::chrono::nanoseconds grace);
  // Stops at once: connections are closed. Idempotent; the destructor calls it.
  void stop();

  MetricsSnapshot metrics() const;
  const Config& config() const;

  // Writes `text` to the error log (log.error) when `priority` (POCO's: 1 fatal ... 8 trace)
  // passes log.level. Thread-safe; asynchronous.
  void log(int priority, const std::string& text);

  // Removes stored responses: every variant of one URI ("http://host/path?query", as requests
  // name it), every URI starting with a prefix, or every response tagged (cache.tag_header).
  // Returns how many went. Errors: kInvalidConfig when the cache is off or the URI is not
  // absolute; kSystem when the Redis tier cannot be reached. May block on Redis.
  Result<std::size_t> purgeCache(PurgeBy by, std::string_view value);

 private:
  struct State;
  explicit Server(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Prometheus text exposition (version 0.0.4) of a snapshot.
std::string formatPrometheus(const MetricsSnapshot& metrics);
// The snapshot as one JSON object.
std::string formatJson(const MetricsSnapshot& metrics);

}  // namespace fairway::proxy
