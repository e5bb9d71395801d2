#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/limiter.hpp>
#include <fairway/ratelimit/status.hpp>

namespace fairway::ratelimit {

// What a local keyed limiter has done so far, for metrics. Counters are monotonic.
struct KeyedLimiterStats {
  std::size_t keys = 0;      // held now (= size())
  std::size_t capacity = 0;  // the most it can hold
  // Keys forgotten to make room for another: idle ones (their quota was whole, so forgetting them
  // changed nothing) and active ones (their debt was forgiven: their next request finds a whole
  // quota — the limiter fails open for them).
  std::uint64_t evictedIdle = 0;
  std::uint64_t evictedActive = 0;
};

// The local, in-memory keyed limiter that make() returns: one TokenBucket, Gcra or SlidingWindow
// quota per key, in bounded memory.
//
// Keys are reduced to a 64-bit hash (wyhash); two keys with the same hash share one quota. Among n
// keys that happens with probability about n² / 2^65 (1e-7 for a million keys). The hash is not
// keyed: a client that chooses its key freely (a header value) could, with a lot of work, collide
// with another client's key on purpose; prefer keys it cannot choose, such as its address.
//
// Memory: a fixed table allocated by make(), never grown: `Config::shards` shards (fewer when
// maxKeys is small), each a set-associative table of buckets of kWays slots (hash + the algorithm's
// state: 16 bytes per key for gcra, 24 for token_bucket and sliding_window, 32 for a window limit
// above 2^32 − 1). capacity() is maxKeys rounded up to a multiple of kWays per shard. A key always
// lives in the one bucket its hash names. A new key takes an empty slot of that bucket; if there is
// none, it replaces the slot whose key is least in debt — an idle one (quota whole again:
// forgetting it changes nothing) if there is one, otherwise the active key whose forgotten debt
// lets the least extra through (fail-open for that key). So an active key is forgotten only when
// every slot of its bucket holds an active key and it owes the least of them. This refines the
// "least recently used" of Config::maxKeys: it spends no memory on recency, and a client cannot
// shed its own debt by sending fresh keys (each arrives owing little, so they replace one another).
// A request that takes nothing (denied, or cost 0) never stores a new key.
//
// Thread-safe: one short lock per shard, held for one bucket's lookup and decision; an acquire
// waits only for another one on the same shard. Never allocates after make(), never reads a clock.
class KeyedLimiter : public Limiter {
 public:
  static constexpr std::size_t kWays = 8;

  // Validates `config` (errors as validate()) and allocates the whole table.
  static Result<std::unique_ptr<KeyedLimiter>> make(const Config& config);

  // Keys it can hold: >= Config::maxKeys.
  virtual std::size_t capacity() const = 0;
  // True if `key`'s quota is held now (it took something and has not been evicted since).
  // Thread-safe.
  virtual bool contains(std::string_view key) const = 0;
  // Thread-safe; each counter is read on its own, so the set may be a few updates apart.
  virtual KeyedLimiterStats stats() const = 0;
};

}  // namespace fairway::ratelimit
