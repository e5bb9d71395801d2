#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/cache/config.hpp>
#include <fairway/cache/entry.hpp>
#include <fairway/cache/policy.hpp>
#include <fairway/cache/status.hpp>
#include <fairway/cache/store.hpp>

namespace fairway::cache::redis {

// The `cache.redis:` section: where the shared store lives, how long to wait for it, and how long
// its entries live there.
struct RedisStoreConfig {
  std::string host = "127.0.0.1";  // cache.redis.host: a name is resolved at each (re)connect
  int port = 6379;                 // cache.redis.port: [1, 65535]
  // cache.redis.connect_timeout, cache.redis.command_timeout: > 0. The command timeout bounds
  // every wait for Redis to accept or send bytes; a slower Redis counts as down.
  std::chrono::milliseconds connectTimeout{100};
  std::chrono::milliseconds commandTimeout{50};
  // cache.redis.retry_interval: >= 0. After a failure every call returns kUnavailable at once,
  // without touching the network, for this long; then the next call reconnects.
  std::chrono::milliseconds retryInterval{1000};
  // cache.redis.key_prefix: not empty. Every Redis key the store writes starts with it, so
  // several caches (or a cache and other data) can share one Redis.
  std::string keyPrefix = "fairway:cache:";
  // cache.redis.connections: [1, 256], each used by one call at a time; a key always uses the
  // same one.
  std::size_t connections = 4;
  // cache.redis.max_object_size: >= 1. An entry whose encoded form is larger is refused
  // (kTooLarge), not sent.
  std::size_t maxObjectSize = 8 << 20;
  // cache.redis.max_variants: Vary variants kept per URI (the oldest response goes first),
  // [1, 1024].
  std::size_t maxVariants = 16;

  // Expiry: an entry lives in Redis for what is left of its freshness lifetime when it was
  // received (RFC 9111 §4.2.1, §4.2.3, computed by Policy from `freshness`), plus the longest
  // staleness it may still be served with (stale-while-revalidate, stale-if-error, or
  // freshness.staleIfError; none when must-revalidate, proxy-revalidate or s-maxage forbid stale
  // use), plus `revalidationGrace` when it has a validator (ETag or Last-Modified) — at least
  // 1 s, at most `maxTtl`. The key of a URI lives as long as its longest-lived variant.
  //
  // The `cache:` section the Cache runs with (its ttl, heuristics, ttl_override and
  // stale_if_error give lifetimes); validated with the rest.
  Config freshness{};
  // cache.redis.revalidation_grace: >= 0. Extra life for an entry that can be revalidated: a stale
  // entry with a validator still saves a full transfer (a 304 freshens it).
  std::chrono::seconds revalidationGrace{0};
  // cache.redis.max_ttl: >= 1 s.
  std::chrono::seconds maxTtl{86400};

  // The clock that times the retry interval: steady_clock unless a test injects one. Must be set.
  std::function<TimePoint()> clock = [] { return Clock::now(); };
};

// A Store kept in one Redis (standalone, or anything that speaks its protocol without cluster
// redirects), shared by every proxy that points at it. Talks to Redis through POCO Redis' protocol
// types; see README.md for the data layout.
//
// - Each call is one round trip (a pipeline or a Lua script), except purgePrefix() (a SCAN walk)
//   and a lookup that finds corrupt bytes (it deletes them: a second one).
// - Failure: a refused or reset connection, a timeout, an error reply or a reply that does not
//   parse is kUnavailable; the connection is dropped (every connection: they share a fate) and for
//   RedisStoreConfig::retryInterval every call returns kUnavailable at once. Bytes that do not
//   decode as an entry (decodeEntry() treats them as untrusted), or a key holding another type, are
//   kCorrupt and are deleted. Nothing throws.
// - Blocking: a call waits on the network, up to connectTimeout when it (re)connects plus
//   commandTimeout per wait for bytes; mayBlock() is true. Call it off the proxy's event loops.
// - Thread-safe. Reads no clock but RedisStoreConfig::clock, for the retry interval.
// - The process must ignore SIGPIPE (the proxy does), as with any socket code.
class RedisStore final : public Store {
 public:
  // Validates `config` (errors name the field: "cache.redis.port: must be in [1, 65535] (got 0)";
  // problems in `freshness` are named as cache::validate() names them) and returns a store. It
  // connects lazily, so an unreachable Redis is not an error here.
  static Result<std::unique_ptr<RedisStore>> make(const RedisStoreConfig& config);

  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // fairway::cache::Store
  Result<VariantsPtr> lookup(std::string_view key) override;
  Status insert(EntryPtr entry) override;
  Result<std::size_t> erase(std::string_view key) override;
  Result<std::size_t> purgePrefix(std::string_view prefix) override;
  Result<std::size_t> purgeTag(std::string_view tag) override;
  // lookups, hits, inserts, evictions (variants dropped by the variant limit), rejections
  // (kTooLarge), errors (kUnavailable and kCorrupt). entries and bytes are 0: they are Redis's
  // (INFO), shared by every proxy.
  StoreStats stats() const override;
  bool mayBlock() const override { return true; }

  // How long `entry` lives in Redis (see RedisStoreConfig), for tests and the admin interface.
  std::chrono::milliseconds expiryOf(const Entry& entry) const;
  // True while calls return kUnavailable without trying (within the retry interval of a failure).
  bool degraded() const;
  const RedisStoreConfig& config() const { return config_; }

 private:
  class Connection;

  explicit RedisStore(const RedisStoreConfig& config);
  Connection& connectionFor(std::string_view key) const;
  // Marks the store down for the retry interval and drops every connection.
  void markDown();
  Error unavailable(std::string_view operation, std::string_view why);

  const RedisStoreConfig config_;
  const Policy policy_;
  const std::string entryPrefix_;  // keyPrefix + "e:"
  const std::string tagPrefix_;    // keyPrefix + "t:"
  std::vector<std::unique_ptr<Connection>> connections_;
  std::atomic<TimePoint::rep> downUntil_;
  std::atomic<std::uint64_t> epoch_{0};  // bumped by markDown(); older connections reconnect
  std::atomic<std::uint64_t> lookups_{0}, hits_{0}, inserts_{0}, evictions_{0}, rejections_{0},
      errors_{0};
};

}  // namespace fairway::cache::redis
