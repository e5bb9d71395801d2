#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

#include <fairway/proxy/config.hpp>
#include <fairway/proxy/router.hpp>
#include <fairway/ratelimit/limiter.hpp>

#include "cache_service.hpp"
#include "rate_limit_service.hpp"
#include "upstream.hpp"

namespace fairway::proxy {

// Upper bounds of the latency histograms' buckets, in seconds (the last bucket is +Inf).
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// A latency histogram over kLatencyBounds: per-bucket counts (not cumulative) and the sum.
struct LatencyHistogram {
  std::array<Counter, kLatencyBounds.size() + 1> buckets;
  Counter sumNs;

  void record(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t bucket = 0;
    while (bucket < kLatencyBounds.size() && seconds > kLatencyBounds[bucket]) {
      ++bucket;
    }
    buckets[bucket].add();
    sumNs.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, elapsed.count())));
  }
};

// One worker's counters: written by that worker only, read by the admin thread (relaxed atomics,
// merged on scrape). No lock and no shared cache line on the request path.
struct WorkerMetrics {
  Counter accepted;                  // client connections accepted
  Counter refused;                   // closed at once: limits.max_connections reached
  Counter requests;                  // requests whose head was parsed
  std::array<Counter, 6> responses;  // by status class: [1] 1xx ... [5] 5xx; [0] aborted
  Counter badRequests;               // 400/413/414/431/505 answered by the proxy
  Counter clientTimeouts;            // header, body, keep-alive or send timeouts
  Counter noRoute;                   // 404: no route
  Counter noEndpoint;                // 503: no available endpoint
  Counter upstreamConnectFailures;
  Counter upstreamTimeouts;      // connect or response timeouts (504)
  Counter upstreamResets;        // closed or reset before the response completed
  Counter upstreamBadResponses;  // malformed responses (502)
  Counter retries;
  Counter rateLimited;        // 429 answered
  Counter rateLimitedDryRun;  // would have been 429 (rate_limit.dry_run)
  Counter upstreamConnects;   // new upstream connections
  Counter upstreamReuses;     // requests sent on a pooled connection
  Counter bytesFromClients;
  Counter bytesToClients;
  Counter activeConnections;  // gauge: add() and sub() by the one writer
  Counter activeRequests;
  Counter idleReleases;  // keep-alive connections that freed their buffers while idle
  // Request duration: head parsed -> response complete.
  LatencyHistogram latency;
  // Responses by upstream group and status class ([group][class], class as in `responses`).
  std::vector<std::array<Counter, 6>> upstreamResponses;
  // Per upstream group: an attempt's start (connect, or a pooled connection taken) -> the final
  // response head from the backend.
  std::vector<LatencyHistogram> upstreamHeaderLatency;
  // Responses by route and status class ([route][class]).
  std::vector<std::array<Counter, 6>> routeResponses;
  void sub(Counter& gauge) { gauge.value.store(gauge.get() - 1, std::memory_order_relaxed); }
};

// What every worker shares: the configuration, the routes, the upstream groups. Immutable once
// the workers start, but for the atomics and the groups' own thread-safe state.
struct Runtime {
  Config config;
  std::vector<std::unique_ptr<UpstreamGroup>> groups;
  std::unique_ptr<Router> router;  // targets are route indexes
  // Per route (the Router's target): its upstream group, and its name for metrics ("*/api/").
  std::vector<std::size_t> routeUpstream;
  std::vector<std::string> routeNames;
  std::unique_ptr<ratelimit::Limiter> limiter;      // rate_limit.* in this process, or null
  std::unique_ptr<RateLimitService> sharedLimiter;  // rate_limit.redis.*, or null
  std::unique_ptr<CacheService> cache;              // cache.*, or null
  // log.access: an asynchronous POCO channel (a writer thread does the I/O), or null when off.
  Poco::AutoPtr<Poco::Channel> accessLog;
  // log.error at log.level: health, breaker and lifecycle events.
  std::shared_ptr<EventLog> eventLog;
  std::atomic<std::int64_t> connections{0};
  std::atomic<bool> draining{false};
  // Set as the server stops, before the workers go: from then on nothing posts to their loops.
  std::atomic<bool> stopped{false};
};

}  // namespace fairway::proxy
