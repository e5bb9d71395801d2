#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <fairway/cache/entry.hpp>
#include <fairway/cache/status.hpp>
#include <fairway/cache/store.hpp>

namespace fairway::cache::redis {

// Two stores as one: a fast, per-process first tier (a MemoryStore) in front of a second tier
// shared by several proxies (a RedisStore) — or any two Stores.
//
// - lookup: the first tier; on a miss, the second, and a second-tier hit fills the first tier
//   (every variant). A key the first tier holds is answered from it alone: variants another proxy
//   added to the second tier since are seen once the first tier drops the key.
// - insert: into both. erase / purgePrefix / purgeTag: both; the count is the larger of the two.
// - A second-tier failure (kUnavailable, kCorrupt) degrades to first-tier-only behaviour: it is
//   counted in stats().errors, never returned. First-tier results are returned as they are; an
//   insert fails only when neither tier took the entry (then with the first tier's error).
// - Purges reach this process' first tier and the shared second tier; other proxies' first tiers
//   keep their copies until purged there too (or evicted).
//
// Thread-safe when both tiers are. Blocks when a tier does: mayBlock() is true if either may.
class TieredStore final : public Store {
 public:
  // Preconditions: both non-null.
  TieredStore(std::shared_ptr<Store> first, std::shared_ptr<Store> second);

  // fairway::cache::Store
  Result<VariantsPtr> lookup(std::string_view key) override;
  Status insert(EntryPtr entry) override;
  Result<std::size_t> erase(std::string_view key) override;
  Result<std::size_t> purgePrefix(std::string_view prefix) override;
  Result<std::size_t> purgeTag(std::string_view tag) override;
  // lookups, hits (either tier), inserts (taken by either tier) and errors (second-tier failures
  // absorbed) are this store's; evictions, rejections, entries and bytes are the first tier's.
  // Each tier's own stats() has the rest.
  StoreStats stats() const override;
  bool mayBlock() const override;

  Store& first() const { return *first_; }
  Store& second() const { return *second_; }

 private:
  Result<std::size_t> both(Result<std::size_t> first, const Result<std::size_t>& second);

  std::shared_ptr<Store> first_;
  std::shared_ptr<Store> second_;
  std::atomic<std::uint64_t> lookups_{0}, hits_{0}, inserts_{0}, errors_{0};
};

}  // namespace fairway::cache::redis
