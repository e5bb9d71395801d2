#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/limiter.hpp>
#include <fairway/ratelimit/status.hpp>

namespace fairway::ratelimit::redis {

// Where the shared quota lives and how to behave when it cannot be reached.
struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds connectTimeout{100};
  std::chrono::milliseconds commandTimeout{50};  // a slower reply counts as Redis being down
  // After a failure, decide by `failMode` for this long before trying to reconnect, so a dead Redis
  // costs one timeout per interval, not one per request.
  std::chrono::milliseconds retryInterval{1000};
  std::string keyPrefix = "fairway:rl:";
  std::size_t connections = 4;  // each with its own lock; a key always uses the same one

  // kExact: one round trip per decision. kBatched: each instance leases up to `batch` tokens per
  // round trip and spends them locally, for throughput; leased tokens not spent within `leaseTtl`
  // are forfeited (the global limit is never exceeded; it can be under-used by at most
  // instances × batch per leaseTtl).
  enum class Mode { kExact, kBatched };
  Mode mode = Mode::kExact;
  std::int64_t batch = 10;
  std::chrono::milliseconds leaseTtl{250};

  // Redis unreachable or slow: allow everything (kOpen), deny everything (kClosed), or enforce the
  // same limit per instance with a local limiter (kLocal).
  enum class FailMode { kOpen, kClosed, kLocal };
  FailMode failMode = FailMode::kOpen;
};

// What happened so far, for metrics. Monotonic counters.
struct SharedLimiterStats {
  std::uint64_t redisCalls = 0;
  std::uint64_t redisErrors = 0;        // connection failures, timeouts, error replies
  std::uint64_t degradedDecisions = 0;  // decided by failMode because Redis was unreachable
  std::uint64_t localDecisions = 0;     // batched mode: answered from a lease without Redis
};

// A keyed limit shared by every fairway instance that points at the same Redis: GCRA (the same
// limit as the token bucket; Config::rate) kept in Redis as one timestamp per key, updated
// atomically by one Lua script per decision. Time is Redis's own (TIME), so instances need no
// synchronised clocks; the caller's `now` only times leases and reconnects.
//
// Blocking: tryAcquire() waits on the network up to RedisConfig::commandTimeout (plus
// connectTimeout when reconnecting). Call it off the proxy's event loops. Thread-safe.
class SharedLimiter final : public Limiter {
 public:
  // Validates both configurations (errors name the field, e.g. "rate_limit.redis.port") and
  // returns a limiter; it connects lazily, so an unreachable Redis is not an error here.
  static Result<std::unique_ptr<SharedLimiter>> make(const Config& limit, const RedisConfig& redis);

  ~SharedLimiter() override;

  // fairway::ratelimit::Limiter
  Decision tryAcquire(std::string_view key, std::int64_t cost, TimePoint now) override;
  std::size_t size() const override;

  SharedLimiterStats stats() const;
  // True while decisions come from failMode rather than Redis.
  bool degraded() const { return degraded_.load(std::memory_order_relaxed); }

 private:
  struct Connection;
  struct Lease;
  struct LeaseTable;

  SharedLimiter(const Config& limit, const RedisConfig& redis, std::unique_ptr<Limiter> local);
  Decision degradedDecision(std::string_view key, std::int64_t cost, TimePoint now);

  const Config limit_;
  const RedisConfig redis_;
  std::unique_ptr<Limiter> local_;  // kLocal fallback
  std::vector<std::unique_ptr<Connection>> connections_;
  std::unique_ptr<LeaseTable> leases_;
  std::atomic<bool> degraded_{false};
  std::atomic<std::uint64_t> redisCalls_{0}, redisErrors_{0}, degradedDecisions_{0},
      localDecisions_{0};
};

}  // namespace fairway::ratelimit::redis
