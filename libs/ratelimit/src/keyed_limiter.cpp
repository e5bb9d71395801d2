// The keyed table behind make(): sharded, set-associative, fixed-size. See keyed_limiter.hpp for
// the contract; the comments here say why it is built this way.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>  // std::lock_guard
#include <vector>

#include <fairway/core/adaptive_mutex.hpp>
#include <fairway/ratelimit/keyed_limiter.hpp>

#include "kernels.hpp"
#include "key_hash.hpp"

namespace fairway::ratelimit {
namespace {

constexpr std::size_t kWays = KeyedLimiter::kWays;
constexpr std::size_t kCacheLine = 64;

// How the table is cut: `shards` locks, each over `bucketsPerShard` buckets of kWays slots.
struct Geometry {
  std::size_t shards = 1;
  std::size_t bucketsPerShard = 1;
};

Geometry geometryFor(const Config& config) {
  // Halve the shards until each has at least a bucket's worth of maxKeys: rounding up to whole
  // buckets then adds less than one bucket per shard.
  std::size_t shards = config.shards;
  while (shards > 1 && shards * kWays > config.maxKeys) {
    shards /= 2;
  }
  const std::size_t perShard = (config.maxKeys + shards - 1) / shards;
  return {shards, (perShard + kWays - 1) / kWays};
}

template <typename Kernel>
class KeyedTable final : public KeyedLimiter {
 public:
  KeyedTable(const Kernel& kernel, const Geometry& geometry)
      : kernel_(kernel),
        shardMask_(geometry.shards - 1),
        bucketsPerShard_(geometry.bucketsPerShard),
        shards_(new Shard[geometry.shards]),
        buckets_(geometry.shards * geometry.bucketsPerShard) {}

  // fairway::ratelimit::Limiter
  Decision tryAcquire(std::string_view key, std::int64_t cost, TimePoint now) override {
    const std::uint64_t hash = hashOf(key);
    Bucket& bucket = bucketOf(hash);
    // The bucket is most likely a cache miss (a million keys do not fit in cache): start loading
    // it before the lock, whose atomic would otherwise hold the load back.
    for (std::size_t line = 0; line < sizeof(Bucket); line += kCacheLine) {
      __builtin_prefetch(reinterpret_cast<const char*>(&bucket) + line, 1);
    }
    cost = std::max<std::int64_t>(cost, 0);
    const std::int64_t t = now.time_since_epoch().count();
    Shard& shard = shardOf(hash);
    std::lock_guard lock(shard.mutex);
    if (const std::size_t slot = find(bucket, hash); slot < kWays) {
      return kernel_.acquire(bucket.states[slot], cost, t);
    }
    State state = Kernel::fresh();
    const Decision decision = kernel_.acquire(state, cost, t);
    if (decision.allowed && cost > 0) {
      insert(shard, bucket, hash, state, t);
    }
    return decision;
  }

  std::size_t size() const override {
    std::size_t keys = 0;
    for (std::size_t s = 0; s <= shardMask_; ++s) {
      keys += shards_[s].keys.load(std::memory_order_relaxed);
    }
    return keys;
  }

  // fairway::ratelimit::KeyedLimiter
  std::size_t capacity() const override { return buckets_.size() * kWays; }

  bool contains(std::string_view key) const override {
    const std::uint64_t hash = hashOf(key);
    const Bucket& bucket = bucketOf(hash);
    std::lock_guard lock(shardOf(hash).mutex);
    return find(bucket, hash) < kWays;
  }

  KeyedLimiterStats stats() const override {
    KeyedLimiterStats stats;
    stats.capacity = capacity();
    for (std::size_t s = 0; s <= shardMask_; ++s) {
      stats.keys += shards_[s].keys.load(std::memory_order_relaxed);
      stats.evictedIdle += shards_[s].evictedIdle.load(std::memory_order_relaxed);
      stats.evictedActive += shards_[s].evictedActive.load(std::memory_order_relaxed);
    }
    return stats;
  }

 private:
  using State = typename Kernel::State;

  // Hashes first, states after: a lookup compares eight hashes in one cache line and then touches
  // only the state it found. 128 bytes for gcra, 192 for token_bucket and sliding_window (256 with
  // 64-bit counts).
  struct alignas(kCacheLine) Bucket {
    std::array<std::uint64_t, kWays> hashes{};  // 0: an empty slot
    std::array<State, kWays> states{};
  };

  // One lock and its counters per cache line. The counters change only under the lock; they are
  // atomics so that size() and stats() can read them without it.
  struct alignas(kCacheLine) Shard {
    mutable core::AdaptiveMutex mutex;
    std::atomic<std::size_t> keys{0};
    std::atomic<std::uint64_t> evictedIdle{0};
    std::atomic<std::uint64_t> evictedActive{0};
  };

  static std::uint64_t hashOf(std::string_view key) {
    const std::uint64_t hash = internal::KeyHash::of(key);
    return hash == 0 ? 1 : hash;  // 0 marks an empty slot
  }

  // The shard takes the hash's low bits, the bucket within it its high bits (Lemire's
  // multiply-shift range reduction: any bucket count, no division).
  Shard& shardOf(std::uint64_t hash) const { return shards_[hash & shardMask_]; }

  Bucket& bucketOf(std::uint64_t hash) { return buckets_[bucketIndex(hash)]; }
  const Bucket& bucketOf(std::uint64_t hash) const { return buckets_[bucketIndex(hash)]; }

  std::size_t bucketIndex(std::uint64_t hash) const {
    __extension__ typedef unsigned __int128 Uint128;
    const auto within = static_cast<std::size_t>((Uint128{hash} * bucketsPerShard_) >> 64);
    return (hash & shardMask_) * bucketsPerShard_ + within;
  }

  // The slot holding `hash`, or kWays. An early exit measured some 15 ns faster per hit than a
  // branch-free comparison of all eight.
  static std::size_t find(const Bucket& bucket, std::uint64_t hash) {
    for (std::size_t i = 0; i < kWays; ++i) {
      if (bucket.hashes[i] == hash) {
        return i;
      }
    }
    return kWays;
  }

  template <typename T>
  static void increment(std::atomic<T>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Stores a key's first state: in an empty slot, else over the slot least in debt (an idle one
  // owes nothing). Evicting by debt rather than recency forgives the least possible, and needs no
  // recency field. Called under the shard's lock.
  void insert(Shard& shard, Bucket& bucket, std::uint64_t hash, const State& state,
              std::int64_t now) {
    std::size_t victim = kWays;
    for (std::size_t i = 0; i < kWays; ++i) {
      if (bucket.hashes[i] == 0) {
        victim = i;
        break;
      }
    }
    if (victim < kWays) {
      increment(shard.keys);
    } else {
      victim = 0;
      auto least = kernel_.debt(bucket.states[0], now);
      for (std::size_t i = 1; i < kWays && least > 0; ++i) {  // an idle slot ends the search
        const auto debt = kernel_.debt(bucket.states[i], now);
        if (debt < least) {
          least = debt;
          victim = i;
        }
      }
      increment(least > 0 ? shard.evictedActive : shard.evictedIdle);
    }
    bucket.hashes[victim] = hash;
    bucket.states[victim] = state;
  }

  const Kernel kernel_;
  const std::uint64_t shardMask_;
  const std::size_t bucketsPerShard_;
  std::unique_ptr<Shard[]> shards_;
  std::vector<Bucket> buckets_;  // shard s owns [s × bucketsPerShard_, (s + 1) × bucketsPerShard_)
};

template <typename Kernel>
std::unique_ptr<KeyedLimiter> makeTable(const Kernel& kernel, const Config& config) {
  return std::make_unique<KeyedTable<Kernel>>(kernel, geometryFor(config));
}

}  // namespace

Result<std::unique_ptr<KeyedLimiter>> KeyedLimiter::make(const Config& config) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  if (config.algorithm == "gcra") {
    return makeTable(internal::GcraKernel{internal::BucketLimit::of(config.rate)}, config);
  }
  if (config.algorithm == "sliding_window") {
    const auto limit = internal::WindowLimit::of(config.rate.burst, config.window);
    if (limit.limit <= std::numeric_limits<std::uint32_t>::max()) {
      return makeTable(internal::SlidingWindowKernel<std::uint32_t>{limit}, config);
    }
    return makeTable(internal::SlidingWindowKernel<std::int64_t>{limit}, config);
  }
  return makeTable(internal::TokenBucketKernel{internal::BucketLimit::of(config.rate)}, config);
}

Result<std::unique_ptr<Limiter>> make(const Config& config) {
  auto keyed = KeyedLimiter::make(config);
  if (!keyed) {
    return keyed.error();
  }
  return std::unique_ptr<Limiter>(std::move(keyed).value());
}

}  // namespace fairway::ratelimit
