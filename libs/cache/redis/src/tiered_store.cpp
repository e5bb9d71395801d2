#include <algorithm>
#include <cassert>
#include <utility>

#include <fairway/cache/redis/tiered_store.hpp>

namespace fairway::cache::redis {

TieredStore::TieredStore(std::shared_ptr<Store> first, std::shared_ptr<Store> second)
    : first_(std::move(first)), second_(std::move(second)) {
  assert(first_ != nullptr && second_ != nullptr);
}

Result<VariantsPtr> TieredStore::lookup(std::string_view key) {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  if (Result<VariantsPtr> hit = first_->lookup(key); hit && hit.value() != nullptr) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return hit;
  }
  Result<VariantsPtr> found = second_->lookup(key);
  if (!found) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return VariantsPtr();
  }
  if (found.value() == nullptr) {
    return found;
  }
  // Fill the first tier, oldest first, so that its variant limit keeps the newest. An entry it
  // refuses (too large for it) is still served from here.
  for (const EntryPtr& entry : *found.value()) {
    (void)first_->insert(entry);
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return found;
}

Status TieredStore::insert(EntryPtr entry) {
  assert(entry != nullptr);
  Status stored = first_->insert(entry);
  const Status shared = second_->insert(std::move(entry));
  if (!shared && shared.error().code != ErrorCode::kTooLarge) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  if (stored || shared) {
    inserts_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  return stored;
}

Result<std::size_t> TieredStore::both(Result<std::size_t> first,
                                      const Result<std::size_t>& second) {
  if (!second) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!first) {
    return second ? second : first;
  }
  return second ? std::max(first.value(), second.value()) : first.value();
}

Result<std::size_t> TieredStore::erase(std::string_view key) {
  Result<std::size_t> first = first_->erase(key);
  return both(std::move(first), second_->erase(key));
}

Result<std::size_t> TieredStore::purgePrefix(std::string_view prefix) {
  Result<std::size_t> first = first_->purgePrefix(prefix);
  return both(std::move(first), second_->purgePrefix(prefix));
}

Result<std::size_t> TieredStore::purgeTag(std::string_view tag) {
  Result<std::size_t> first = first_->purgeTag(tag);
  return both(std::move(first), second_->purgeTag(tag));
}

StoreStats TieredStore::stats() const {
  StoreStats s = first_->stats();
  s.lookups = lookups_.load(std::memory_order_relaxed);
  s.hits = hits_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

bool TieredStore::mayBlock() const {
  return first_->mayBlock() || second_->mayBlock();
}

}  // namespace fairway::cache::redis
