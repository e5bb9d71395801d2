#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/cache/config.hpp>
#include <fairway/cache/store.hpp>

namespace fairway::cache {

enum class EvictionPolicy {
  // Least recently used, exact: every hit moves the key to the front.
  kLru,
  // S3-FIFO (Yang, Zhang, Qiu, Yue, Vinayak, "FIFO queues are all you need for cache eviction",
  // SOSP 2023): new keys enter a small FIFO (10% of the room); keys hit while there move to the
  // main FIFO at eviction time, the rest leave and are remembered in a ghost FIFO of hashes, so a
  // quick return goes straight to main; main reinserts keys hit since their last pass (a 2-bit
  // counter). A hit only bumps the counter: no list surgery.
  kS3Fifo,
};

struct MemoryStoreConfig {
  std::size_t maxEntries = 1000;     // stored responses (variants), >= 1
  std::size_t maxBytes = 256 << 20;  // sum of Entry::charge(), >= 1
  std::size_t shards = 16;           // a power of two; each shard gets its share of both bounds
  std::size_t maxVariants = 16;      // per key, >= 1
  EvictionPolicy policy = EvictionPolicy::kLru;
  // Seeds the key hash. Keys come from clients: give each process a random seed (from the
  // caller's generator) so that nobody can precompute colliding URIs (hash flooding).
  std::uint64_t hashSeed = 0;
};

// The in-process store: sharded by key hash, each shard a mutex, an open-addressing index and the
// eviction queues. Bounded by entries and bytes; evicts whole keys (all their variants).
//
// Lookups and inserts are O(1) (amortised; the index doubles as it fills); a lookup takes its
// shard's lock for a probe and, under LRU, a list move — never I/O. A hit reads the index slot
// and the first 128 bytes of one allocation holding the reference count of the variants it hands
// out, the key's first bytes and the node (plus, under LRU, its two list neighbours); an index of
// 2 MiB or more asks for transparent huge pages. erase() is O(variants);
// purgeTag() is O(tagged entries) through a per-shard tag index; purgePrefix() scans every key,
// one shard lock at a time. Thread-safe; see Store for the contracts.
class MemoryStore final : public Store {
 public:
  // Trusts `config` (makeStore() validates); shards is rounded up to a power of two, and a
  // shard's share of the bounds is at least 1.
  explicit MemoryStore(const MemoryStoreConfig& config);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // fairway::cache::Store
  Result<VariantsPtr> lookup(std::string_view key) override;
  Status insert(EntryPtr entry) override;
  Result<std::size_t> erase(std::string_view key) override;
  Result<std::size_t> purgePrefix(std::string_view prefix) override;
  Result<std::size_t> purgeTag(std::string_view tag) override;
  StoreStats stats() const override;
  bool mayBlock() const override { return false; }

  // Whether `key` is stored; not a use (changes no eviction state).
  bool contains(std::string_view key) const;
  // Every key, next victim first within each shard, shards in order. O(n); for tests and the
  // admin interface.
  std::vector<std::string> evictionOrder() const;
  const MemoryStoreConfig& config() const { return config_; }

 private:
  class Shard;
  Shard& shardFor(std::uint64_t hash) const;

  MemoryStoreConfig config_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t shardCount_;
  unsigned shardShift_;
};

// The memory store `config` asks for (cache.max_size, max_bytes, shards, max_variants, policy).
// Errors name the field: "cache.max_size: must be >= 1 (got 0)", "cache.policy: unknown eviction
// policy 'x' (known: lru, s3fifo)".
Result<std::unique_ptr<Store>> makeStore(const Config& config);

// Checks every field of `config`; the first problem, named as above.
Status validate(const Config& config);

}  // namespace fairway::cache
