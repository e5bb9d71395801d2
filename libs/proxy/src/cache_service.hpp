#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <fairway/cache/cache.hpp>
#include <fairway/cache/redis/redis_store.hpp>
#include <fairway/proxy/config.hpp>

#include "job_queue.hpp"

namespace fairway::proxy {

// The `cache:` section as the cache library takes it (max_body_bytes is its max_object_size).
cache::Config libraryCacheConfig(const CacheConfig& config, std::uint64_t hashSeed);

// The cache key of a request (RFC 9111 §2: the target URI): "http://" + authority + path and
// query, the authority lower-cased and without the default port. `target` is the request target
// as received: origin-form (then `host`, the Host field, is the authority) or absolute-form.
std::string cacheKey(std::string_view host, std::string_view target);
// An absolute "http://..." URI as a cache key, or nullopt when it is not one.
std::optional<std::string> absoluteCacheKey(std::string_view uri);
// A key prefix with its scheme and authority lower-cased (what there is of them).
std::string normalizeKeyPrefix(std::string_view prefix);

// Where a background revalidation goes: an endpoint the worker picked, and the request target.
struct RefreshTarget {
  std::string host;
  int port = 0;
  std::string hostHeader;  // the client's Host
  std::string target;      // origin-form: path and query
  Duration connectTimeout{};
  Duration responseTimeout{};
};

// The response cache on the proxy's path: one fairway::cache::Cache for every worker, on the
// memory store, or on memory in front of Redis (cache.redis) — and the threads for what may block.
// With Redis, the workers never call the cache themselves: lookups and stores run here and their
// results are posted back (see ClientConnection). Background revalidations (RFC 5861
// stale-while-revalidate) always run here, with a blocking HTTP client of their own.
class CacheService {
 public:
  struct Stats {
    cache::CacheStats cache;
    cache::StoreStats memory;
    std::optional<cache::StoreStats> redis;  // when cache.redis is set
    bool redisDegraded = false;
    std::uint64_t refreshes = 0;        // background revalidations sent
    std::uint64_t refreshFailures = 0;  // ... that got no usable response
  };

  // Errors name the key ("cache.redis.port: ...").
  static std::unique_ptr<CacheService> make(const CacheConfig& config, std::string& error);
  CacheService(const CacheService&) = delete;
  CacheService& operator=(const CacheService&) = delete;

  // Reload: takes `previous`'s stored responses (its cache, stores and coalescer) when both were
  // configured alike (every key but `threads`); true if it did. Before the workers start.
  bool adoptStorage(const CacheService& previous);

  cache::Cache& cache() { return *cache_; }
  // True when the store may block (Redis): call the cache through submit().
  bool blocking() const { return blocking_; }
  const CacheConfig& config() const { return config_; }
  // Thread-safe: runs `job` on a cache thread.
  void submit(std::function<void()> job) { jobs_.submit(std::move(job)); }
  // Thread-safe: sends `lookup->upstream` to `target` on a cache thread and hands the response to
  // complete() (or, when none comes, fail()).
  void refresh(std::shared_ptr<cache::Lookup> lookup, std::shared_ptr<const cache::Request> request,
               RefreshTarget target);
  Stats stats() const;

  // Lets running jobs finish and drops the rest (before the workers go). Idempotent.
  void stopThreads() { jobs_.stop(); }

  // Both clocks, read now.
  static cache::Instant now();

 private:
  CacheService(const CacheConfig& config, std::shared_ptr<cache::Store> memory,
               std::shared_ptr<cache::redis::RedisStore> redis,
               std::unique_ptr<cache::Cache> cache);
  void runRefresh(cache::Lookup& lookup, const cache::Request& request,
                  const RefreshTarget& target);

  CacheConfig config_;
  std::shared_ptr<cache::Store> memory_;
  std::shared_ptr<cache::redis::RedisStore> redis_;
  std::shared_ptr<cache::Cache> cache_;  // shared with the next configuration on reload
  bool blocking_;
  std::atomic<std::uint64_t> refreshes_{0}, refreshFailures_{0};
  JobQueue jobs_;  // last: joined before the cache goes
};

}  // namespace fairway::proxy
