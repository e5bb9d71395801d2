#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fairway/balancer/config.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/health/config.hpp>

namespace fairway::proxy {

using Duration = std::chrono::nanoseconds;

// The proxy's whole configuration, as a plain value: what `loadConfig()` builds from a file and
// what the engine runs. Every field documents its configuration key; defaults are the values an
// operator gets when the key is absent. The original design's six-section file
// (server, backends, load_balancer, health_check, rate_limit, cache) maps onto one upstream named
// "default" and one route "/" to it; richer files add `upstreams` and `routes`.

// One address:port the proxy accepts clients on.
struct ListenerConfig {
  // server.address / listeners[i].address: an IP literal (IPv6 without brackets; "*" is stored
  // as "0.0.0.0") or a host name.
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // server.port / listeners[i].port; 0 picks a free port
};

// Per-connection and per-request bounds on what a client may send (nginx's and HAProxy's knobs).
struct LimitsConfig {
  std::size_t maxRequestLineBytes = 8 * 1024;  // limits.max_request_line; over it: 414
  std::size_t maxHeaderBytes = 32 * 1024;      // limits.max_header_bytes (all fields); 431
  std::size_t maxHeaderCount = 100;            // limits.max_headers; 431
  std::uint64_t maxBodyBytes = 0;              // limits.max_body_bytes, 0 = unlimited; 413
  std::size_t maxConnections = 16384;          // limits.max_connections, whole process
  std::size_t maxRequestsPerConnection = 0;    // limits.max_requests_per_connection, 0 = no cap
};

// Client-side timeouts (slowloris and idle clients); upstream ones live in UpstreamTimeouts.
struct ClientTimeouts {
  Duration header = std::chrono::seconds(10);     // timeouts.client_header: whole request head
  Duration body = std::chrono::seconds(60);       // timeouts.client_body: between two body reads
  Duration keepAlive = std::chrono::seconds(75);  // timeouts.keep_alive: idle between requests
  Duration send = std::chrono::seconds(60);       // timeouts.client_send: a stalled client reader
  // timeouts.keep_alive_release: how long a connection waits idle for its next request before it
  // frees the buffers its last exchange filled (0: at once). A busy connection keeps them warm.
  Duration keepAliveRelease = std::chrono::milliseconds(25);
};

struct UpstreamTimeouts {
  Duration connect = std::chrono::seconds(5);    // timeouts.connect; 502 (or retried)
  Duration response = std::chrono::seconds(30);  // timeouts.response (server.timeout); 504
  Duration idle = std::chrono::seconds(60);      // timeouts.upstream_idle: pooled connections
};

// Connection reuse towards one upstream group, per worker.
struct PoolConfig {
  std::size_t maxIdlePerEndpoint = 64;       // pool.max_idle_per_endpoint (per worker)
  std::size_t maxRequestsPerConnection = 0;  // pool.max_requests_per_connection, 0 = no cap
};

// When and how a failed request is tried again (on another endpoint).
struct RetryConfig {
  int attempts = 2;  // retry.attempts: total tries including the first, >= 1
  // retry.on_statuses: response statuses that are retried (idempotent requests only).
  std::vector<int> onStatuses = {502, 503, 504};
  // retry.budget_percent: retries in flight at most this share of active requests (Envoy's retry
  // budget); retry.min_retries_in_flight: always allowed regardless of the share.
  double budgetPercent = 20.0;
  int minRetriesInFlight = 3;
  Duration backoffBase = std::chrono::milliseconds(25);  // retry.backoff.base
  Duration backoffMax = std::chrono::milliseconds(250);  // retry.backoff.max; full jitter
  // retry.buffer_bytes: request bodies up to this size are kept so the request can be resent.
  std::size_t bufferBytes = 64 * 1024;
};

// One backend server of an upstream group.
struct BackendConfig {
  std::string url;   // backends[i].url: "http://host:port" (http only)
  std::string host;  // parsed from url: a name or IP literal, IPv6 without brackets
  std::uint16_t port = 80;
  std::int64_t weight = 1;  // backends[i].weight, >= 1
  std::string id;           // backends[i].id; default "host:port"
};

// A named group of backends with its own policies.
struct UpstreamConfig {
  std::string name;  // upstreams.<name>; "default" for the top-level `backends`
  std::vector<BackendConfig> backends;
  balancer::Config balancer;  // load_balancer.*: algorithm, slow_start, panic, hash, ewma
  // health_check.*: absent section = no active checks (passive outlier detection still runs).
  std::optional<health::HealthCheckConfig> healthCheck;
  health::OutlierConfig outlier;  // outlier.*; the proxy defaults always_eject_one_host to true
  // breaker.*: absent = no breakers. `breaker: {}` = a breaker per endpoint with the defaults.
  std::optional<breaker::Config> breaker;
  RetryConfig retry;
  UpstreamTimeouts timeouts;
  PoolConfig pool;
  // Header the consistent_hash algorithm hashes; empty = the client address.
  std::string hashHeader;  // load_balancer.hash_header
};

// Host + longest path prefix -> upstream. Host "" or "*" matches any host.
struct RouteConfig {
  // routes[i].host, case-insensitive, port ignored: the loader stores it lower-case without
  // the port, and "*" as "".
  std::string host;
  std::string pathPrefix = "/";  // routes[i].path
  std::string upstream;          // routes[i].upstream, must name an upstream
};

// rate_limit.redis.*: one limit shared by every fairway instance pointing at the same Redis
// (fairway::ratelimit_redis). Its blocking calls run on `threads` threads, never on a worker.
struct RedisRateLimitConfig {
  std::string host = "127.0.0.1";                            // rate_limit.redis.host
  int port = 6379;                                           // rate_limit.redis.port
  std::string failMode = "open";                             // fail_mode: open | closed | local
  std::string mode = "exact";                                // mode: exact | batched
  std::int64_t batch = 10;                                   // batch: tokens leased (batched)
  Duration connectTimeout = std::chrono::milliseconds(100);  // connect_timeout
  Duration commandTimeout = std::chrono::milliseconds(50);   // command_timeout
  int threads = 4;                                           // threads
};

// rate_limit.* (the original design's `requests_per_second`, `burst`): every route.
struct RateLimitConfig {
  bool enabled = false;  // true once the section is present
  double requestsPerSecond = 0;
  double burst = 0;
  std::string key = "client";  // rate_limit.key: client | header:<name> | route
  bool dryRun = false;         // rate_limit.dry_run
  std::string algorithm =
      "token_bucket";  // rate_limit.algorithm: token_bucket | gcra | sliding_window
  // rate_limit.trusted_hops: with key client, how many proxies in front of fairway append to
  // X-Forwarded-For; the client is the address that many entries from the right. 0: the peer.
  int trustedHops = 0;
  std::size_t maxKeys = 1 << 20;              // rate_limit.max_keys: bounded memory
  std::optional<RedisRateLimitConfig> redis;  // rate_limit.redis: shared across instances
};

// cache.redis.*: a second tier shared by every fairway instance pointing at the same Redis
// (fairway::cache_redis). Its blocking calls run on the cache's threads, never on a worker.
struct RedisCacheConfig {
  std::string host = "127.0.0.1";                            // cache.redis.host
  int port = 6379;                                           // cache.redis.port
  Duration connectTimeout = std::chrono::milliseconds(100);  // connect_timeout
  Duration commandTimeout = std::chrono::milliseconds(50);   // command_timeout
  Duration retryInterval = std::chrono::seconds(1);          // retry_interval
  std::string keyPrefix = "fairway:cache:";                  // key_prefix
  int connections = 4;                                       // connections
  Duration maxTtl = std::chrono::hours(24);                  // max_ttl
  Duration revalidationGrace = Duration::zero();             // revalidation_grace

  bool operator==(const RedisCacheConfig&) const = default;
};

// cache.* (the original design's `max_size`, `ttl`): an RFC 9111 shared cache on every route
// (GET and HEAD without a body), in memory, with Redis as a second tier when configured.
struct CacheConfig {
  bool enabled = false;                                // true once the section is present
  std::size_t maxEntries = 1000;                       // cache.max_size
  std::optional<Duration> ttl;                         // cache.ttl: heuristic/default lifetime
  bool ttlOverride = false;                            // cache.ttl_override
  std::size_t maxBodyBytes = 1024 * 1024;              // cache.max_body_bytes
  std::size_t maxBytes = 256 * 1024 * 1024;            // cache.max_bytes
  std::string policy = "lru";                          // cache.policy: lru | s3fifo
  Duration coalesceTimeout = std::chrono::seconds(5);  // cache.coalesce_timeout (0: off)
  Duration staleIfError = Duration::zero();            // cache.stale_if_error
  std::string tagHeader = "Surrogate-Key";             // cache.tag_header
  bool storeSetCookie = false;                         // cache.store_set_cookie
  int threads = 2;                        // cache.threads: Redis calls and background revalidations
  std::optional<RedisCacheConfig> redis;  // cache.redis: shared second tier

  bool operator==(const CacheConfig&) const = default;
};

struct AdminConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";  // admin.address
  std::uint16_t port = 9901;          // admin.port; 0 picks a free port
};

struct LogConfig {
  std::string accessLog;                  // log.access: path, "-" stdout, "" off
  std::string accessFormat = "combined";  // log.access_format: combined | json
  std::string errorLog = "-";             // log.error: path, "-" stderr
  std::string level = "information";      // log.level: POCO level names
};

struct Config {
  std::vector<ListenerConfig> listeners = {ListenerConfig{}};
  int workers = 0;  // server.workers, 0 = one per CPU
  LimitsConfig limits;
  ClientTimeouts clientTimeouts;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  RateLimitConfig rateLimit;
  CacheConfig cache;
  AdminConfig admin;
  LogConfig log;
  std::string sourceFile;  // where it was loaded from, for /config and messages
};

// One problem found in a configuration: the key that has it ("backends[1].weight",
// "upstreams.api.retry.attempts") and why, with the offending value.
struct ConfigProblem {
  std::string key;
  std::string message;
  int line = 0;  // 1-based line of the key in the file where the format keeps it (YAML), else 0
};

}  // namespace fairway::proxy
