#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fairway/cache/entry.hpp>
#include <fairway/cache/status.hpp>

namespace fairway::cache {

// What a store did so far, for metrics. Counters are monotonic; entries and bytes are current.
struct StoreStats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;  // lookups that found at least one variant
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;   // stored responses dropped to make room
  std::uint64_t rejections = 0;  // inserts refused (too large)
  std::uint64_t errors = 0;      // failed operations (a remote store's timeouts, refusals)
  std::uint64_t entries = 0;     // stored responses (variants), now
  std::uint64_t bytes = 0;       // their Entry::charge(), now
};

// Where entries live: the seam between the cache policy and memory (MemoryStore) or a remote
// store shared by several proxies (libs/cache/redis). A store keeps, per primary key, the set of
// its variants (one per secondary key); it knows nothing of HTTP freshness, only of keys, sizes
// and its own eviction.
//
// Contracts for every implementation:
// - Thread-safe: any method from any thread, concurrently.
// - Entries are immutable values (`EntryPtr`); a store never changes one in place, so a lookup's
//   result stays valid and consistent after the store evicts or replaces it. A remote store
//   serialises them with encodeEntry() and rebuilds them with decodeEntry().
// - Failure is a result, not an exception: a remote store that cannot answer in time returns
//   kUnavailable (the cache then treats the lookup as a miss and skips the write), and a corrupt
//   value reads as kCorrupt. Nothing here throws.
// - Time: no method reads a clock; a store may evict at any moment for room, but freshness is the
//   caller's business — a store returns stale entries too (they can still be revalidated or
//   served on error).
// - Blocking: mayBlock() tells whether calls can wait on I/O (a remote store, up to its timeout).
//   Such a store is called off the proxy's event loops; a memory store never waits on I/O.
class Store {
 public:
  virtual ~Store() = default;

  // The variants stored under `key`: a non-null, non-empty set, or nullptr on a miss.
  // Errors: kUnavailable, kCorrupt.
  virtual Result<VariantsPtr> lookup(std::string_view key) = 0;

  // Stores `entry` under entry->key(), replacing the variant with the same secondary key; keeps at
  // most the store's variant limit per key (dropping the oldest by response time). May evict
  // other keys to make room. Errors: kTooLarge (the entry alone exceeds the store's bounds),
  // kUnavailable.
  virtual Status insert(EntryPtr entry) = 0;

  // Removes every variant under `key`; returns how many responses went (0 when none).
  // Errors: kUnavailable.
  virtual Result<std::size_t> erase(std::string_view key) = 0;

  // Purge: removes every key starting with `prefix` / every entry tagged `tag`; returns how many
  // responses went. Errors: kUnavailable.
  virtual Result<std::size_t> purgePrefix(std::string_view prefix) = 0;
  virtual Result<std::size_t> purgeTag(std::string_view tag) = 0;

  virtual StoreStats stats() const = 0;
  // True when calls may wait on I/O (see above).
  virtual bool mayBlock() const = 0;
};

}  // namespace fairway::cache
