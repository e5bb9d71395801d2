// The memory store at 10k and 1M entries: ns per lookup (hits, uniform and Zipf-skewed; misses) and
// per insert (a new key into a full store, evicting one; a rewrite of a stored key), on 1 and 2
// threads, for both eviction policies; heap bytes per entry (counters): the payload (key, header
// names and values), the Entry holding it (parsed fields, strings, vectors), and the store's own
// overhead (node, index slot, variant set). A hit is the whole store path: hash, shard lock, probe,
// LRU move or S3-FIFO counter bump, and the shared_ptr copy the caller holds. Stores are built
// lazily, inside the first benchmark body that needs them, so a filtered run that selects nothing
// builds nothing.
//
// `fairway_cache_benchmark --hit-ratio` instead prints the LRU vs S3-FIFO hit-ratio table of
// docs/cache-hit-ratio.md (Zipf α 0.6–1.2, cache sizes 0.1%–10% of the key space).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <sys/mman.h>
#include <vector>

#include <benchmark/benchmark.h>

#include <fairway/cache/entry.hpp>
#include <fairway/cache/memory_store.hpp>
#include <fairway/core/random.hpp>

// Heap accounting, on only while a store is being filled: live bytes as malloc counts them.
namespace {
std::atomic<bool> counting{false};
std::atomic<std::int64_t> liveBytes{0};

// Counts `p` (or nothing when null) and hands it on.
void* counted(void* p) {
  if (p != nullptr && counting.load(std::memory_order_relaxed)) {
    liveBytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)),
                        std::memory_order_relaxed);
  }
  return p;
}

void* allocate(std::size_t size) {
  void* p = counted(std::malloc(size == 0 ? 1 : size));
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

void release(void* p) {
  if (p != nullptr && counting.load(std::memory_order_relaxed)) {
    liveBytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)),
                        std::memory_order_relaxed);
  }
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) {
  return allocate(size);
}
void* operator new[](std::size_t size) {
  return allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted(std::malloc(size == 0 ? 1 : size));
}
void operator delete(void* p) noexcept {
  release(p);
}
void operator delete[](void* p) noexcept {
  release(p);
}
void operator delete(void* p, std::size_t) noexcept {
  release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  release(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  release(p);
}
// The store asks for aligned blocks: its index, on huge pages.
void* operator new(std::size_t size, std::align_val_t align) {
  const auto alignment = static_cast<std::size_t>(align);
  void* p = counted(std::aligned_alloc(
      alignment, (std::max<std::size_t>(size, 1) + alignment - 1) & ~(alignment - 1)));
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p, std::align_val_t) noexcept {
  release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  release(p);
}

namespace {

namespace cache = fairway::cache;
using cache::EntryPtr;
using cache::EvictionPolicy;
using cache::MemoryStore;

constexpr std::size_t kMissKeys = 1 << 16;
constexpr std::size_t kInsertsPerThread = 1 << 17;  // fixed: each insert needs a fresh key
constexpr std::size_t kFreshEntries = 3 * kInsertsPerThread;

const cache::SystemTime kWall = cache::SystemTime(std::chrono::hours(24 * 365 * 56));

std::string keyOf(std::size_t i, const char* space = "object") {
  return "https://example.com/" + std::string(space) + "/" + std::to_string(i);
}

// A realistic small entry: two header fields and a shared 1 KiB body (so the body, payload, is
// not counted per entry in the overhead).
EntryPtr makeEntry(std::string key, const cache::Body& body) {
  cache::Response r{200, {{"Cache-Control", "max-age=3600"}, {"Content-Type", "text/html"}}, body};
  return std::make_shared<const cache::Entry>(std::move(key), "", std::move(r), kWall, kWall);
}

// Payload bytes of one entry: the key and the header names and values.
std::size_t payloadOf(const std::string& key) {
  return key.size() + std::strlen("Cache-Control") + std::strlen("max-age=3600") +
         std::strlen("Content-Type") + std::strlen("text/html");
}

// A key in the arena: probing keys come from one buffer, in a precomputed order, and the loop
// prefetches a few ahead, so the timings are the store's and not the harness's (a proxy's key
// is in cache: it was just parsed).
struct KeyRef {
  std::uint32_t offset;
  std::uint32_t size;
};

// The probing keys' buffer, on transparent huge pages where the kernel grants them: at 1M keys
// it is 33 MB read at random, and with 4 KiB pages the harness's own TLB misses would be timed
// as the store's.
class KeyArena {
 public:
  KeyArena() = default;
  explicit KeyArena(const std::string& keys) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t bytes = (std::max<std::size_t>(keys.size(), 1) + kHuge - 1) & ~(kHuge - 1);
    data_.reset(static_cast<char*>(std::aligned_alloc(kHuge, bytes)));
    if (!data_) {
      throw std::bad_alloc();
    }
    (void)madvise(data_.get(), bytes, MADV_HUGEPAGE);
    std::memcpy(data_.get(), keys.data(), keys.size());
  }
  const char* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
};
constexpr std::size_t kTrace = 1 << 20;
constexpr std::size_t kAhead = 4;

struct Fixture {
  std::size_t entries = 0;
  std::unique_ptr<MemoryStore> store;
  std::vector<std::string> hitKeys;
  KeyArena arena;
  std::vector<KeyRef> uniform;  // a uniform sequence of stored keys
  std::vector<KeyRef> skewed;   // a Zipf(0.99) sequence of stored keys
  KeyArena missArena;
  std::vector<KeyRef> missing;  // a uniform sequence of keys not in the store
  std::once_flag freshOnce;
  std::vector<EntryPtr> fresh;  // entries for keys not in the store, for inserts
  std::atomic<std::size_t> nextFresh{0};
  double payloadPerEntry = 0;  // key, header names and values
  double entryPerEntry = 0;    // the Entry: parsed response, headers, key
  double storePerEntry = 0;    // the store's own: node, index slot, variant set
};

// Builds (once per policy and size) a full store, and the keys to probe it with.
Fixture& fixture(EvictionPolicy policy, std::size_t entries) {
  static std::mutex mutex;
  static std::map<std::pair<EvictionPolicy, std::size_t>, std::unique_ptr<Fixture>> fixtures;
  std::lock_guard lock(mutex);
  auto& slot = fixtures[{policy, entries}];
  if (slot) {
    return *slot;
  }
  slot = std::make_unique<Fixture>();
  Fixture& f = *slot;
  f.entries = entries;
  const cache::Body body = cache::makeBody(std::string(1024, 'b'));
  f.hitKeys.reserve(entries);
  for (std::size_t i = 0; i < entries; ++i) {
    f.hitKeys.push_back(keyOf(i));
  }
  cache::MemoryStoreConfig config;
  config.maxEntries = entries;
  config.maxBytes = std::size_t{64} << 30;
  config.shards = 16;
  config.policy = policy;

  std::vector<EntryPtr> built;
  built.reserve(entries);
  double payload = 0;
  liveBytes.store(0);
  counting.store(true);
  for (std::size_t i = 0; i < entries; ++i) {
    built.push_back(makeEntry(f.hitKeys[i], body));
    payload += static_cast<double>(payloadOf(f.hitKeys[i]));
  }
  const auto entryBytes = static_cast<double>(liveBytes.exchange(0));
  f.store = std::make_unique<MemoryStore>(config);
  for (EntryPtr& e : built) {
    (void)f.store->insert(std::move(e));
  }
  counting.store(false);
  const auto storeBytes = static_cast<double>(liveBytes.load());
  const auto n = static_cast<double>(entries);
  f.payloadPerEntry = payload / n;
  f.entryPerEntry = entryBytes / n;
  f.storePerEntry = storeBytes / n;

  std::vector<KeyRef> missRefs;
  std::string keys;
  for (std::size_t i = 0; i < kMissKeys; ++i) {
    const std::string key = keyOf(i, "missing");
    missRefs.push_back(
        {static_cast<std::uint32_t>(keys.size()), static_cast<std::uint32_t>(key.size())});
    keys += key;
  }
  f.missArena = KeyArena(keys);
  std::vector<double> cdf(entries);
  double sum = 0;
  for (std::size_t i = 0; i < entries; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), 0.99);
    cdf[i] = sum;
  }
  std::vector<KeyRef> refs;
  keys.clear();
  for (const std::string& key : f.hitKeys) {
    refs.push_back(
        {static_cast<std::uint32_t>(keys.size()), static_cast<std::uint32_t>(key.size())});
    keys += key;
  }
  f.arena = KeyArena(keys);
  fairway::core::Random random(7);
  for (std::size_t i = 0; i < kTrace; ++i) {
    f.uniform.push_back(refs[random.below(entries)]);
    const auto rank = static_cast<std::size_t>(
        std::lower_bound(cdf.begin(), cdf.end(), random.uniform() * sum) - cdf.begin());
    // Rank r is key (r × a large odd constant) mod n: popular keys are spread over the shards.
    f.skewed.push_back(refs[(std::min(rank, entries - 1) * 2654435761ULL) % entries]);
    f.missing.push_back(missRefs[random.below(kMissKeys)]);
  }
  return f;
}

Fixture& fixture(const benchmark::State& state, EvictionPolicy policy) {
  return fixture(policy, static_cast<std::size_t>(state.range(0)));
}

void counters(benchmark::State& state, const Fixture& f) {
  if (state.thread_index() == 0) {
    state.counters["payload_bytes_per_entry"] = f.payloadPerEntry;
    state.counters["entry_bytes_per_entry"] = f.entryPerEntry;
    state.counters["store_overhead_bytes_per_entry"] = f.storePerEntry;
  }
  state.SetItemsProcessed(state.iterations());
}

void lookups(benchmark::State& state, const Fixture& f, const KeyArena& arena,
             const std::vector<KeyRef>& trace) {
  std::size_t next = static_cast<std::size_t>(state.thread_index()) * (kTrace / 2);
  for (auto _ : state) {
    const KeyRef ahead = trace[(next + kAhead) & (kTrace - 1)];
    __builtin_prefetch(arena.data() + ahead.offset);
    const KeyRef key = trace[next++ & (kTrace - 1)];
    auto found = f.store->lookup(std::string_view(arena.data() + key.offset, key.size));
    benchmark::DoNotOptimize(found);
  }
  counters(state, f);
}

void lookupHit(benchmark::State& state, EvictionPolicy policy, bool skewed) {
  Fixture& f = fixture(state, policy);
  lookups(state, f, f.arena, skewed ? f.skewed : f.uniform);
}

void lookupMiss(benchmark::State& state, EvictionPolicy policy) {
  Fixture& f = fixture(state, policy);
  lookups(state, f, f.missArena, f.missing);
}

// A key the store has never seen, into a full store: one eviction per insert.
void insertNew(benchmark::State& state, EvictionPolicy policy) {
  Fixture& f = fixture(state, policy);
  std::call_once(f.freshOnce, [&] {
    // Enough for one 1-thread and one 2-thread run; repetitions wrap around (and rewrite).
    const cache::Body body = cache::makeBody(std::string(1024, 'b'));
    for (std::size_t i = 0; i < kFreshEntries; ++i) {
      f.fresh.push_back(makeEntry(keyOf(i, "fresh"), body));
    }
  });
  const std::size_t base = f.nextFresh.fetch_add(kInsertsPerThread);
  std::size_t i = 0;
  for (auto _ : state) {
    auto status = f.store->insert(f.fresh[(base + i++) % kFreshEntries]);
    benchmark::DoNotOptimize(status);
  }
  counters(state, f);
}

// A new version of a stored key (the variant replaced in place of the old one).
void insertRewrite(benchmark::State& state, EvictionPolicy policy) {
  Fixture& f = fixture(state, policy);
  fairway::core::Random random(0x5eed + static_cast<std::uint64_t>(state.thread_index()));
  const cache::Body body = cache::makeBody("v2");
  std::vector<EntryPtr> rewrites;
  for (std::size_t i = 0; i < 4096; ++i) {
    rewrites.push_back(makeEntry(f.hitKeys[random.below(f.entries)], body));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto status = f.store->insert(rewrites[i++ & 4095]);
    benchmark::DoNotOptimize(status);
  }
  counters(state, f);
}

// --hit-ratio: Zipf workloads over a key space of kKeys, each cache size and α, LRU vs S3-FIFO.
// One shard, so that the eviction policy alone decides; the same request sequence for both.
int hitRatioTable() {
  constexpr std::size_t kKeys = 100'000;
  constexpr std::size_t kWarmup = 500'000;
  constexpr std::size_t kRequests = 2'000'000;
  const std::vector<double> alphas = {0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2};
  const std::vector<double> sizes = {0.001, 0.005, 0.01, 0.05, 0.1};
  const cache::Body body = cache::makeBody("x");
  std::vector<EntryPtr> entries;
  entries.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) {
    entries.push_back(makeEntry(keyOf(i), body));
  }
  std::printf("Zipf requests over %zu keys: %zu warm-up, then %zu measured; one shard.\n", kKeys,
              kWarmup, kRequests);
  std::printf("Cells: LRU hit ratio / S3-FIFO hit ratio (S3-FIFO − LRU, points).\n\n");
  std::printf("| α \\ cache size |");
  for (double s : sizes) {
    std::printf(" %g%% (%zu) |", s * 100, static_cast<std::size_t>(s * kKeys));
  }
  std::printf("\n|---|");
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::printf("---|");
  }
  std::printf("\n");
  for (double alpha : alphas) {
    std::vector<double> cdf(kKeys);
    double sum = 0;
    for (std::size_t i = 0; i < kKeys; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), alpha);
      cdf[i] = sum;
    }
    // Ranks are scattered over the keys, so popularity has nothing to do with key order.
    std::vector<std::uint32_t> keyOfRank(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) {
      keyOfRank[i] = static_cast<std::uint32_t>(i);
    }
    fairway::core::Random shuffle(42);
    for (std::size_t i = kKeys - 1; i > 0; --i) {
      std::swap(keyOfRank[i], keyOfRank[shuffle.below(i + 1)]);
    }
    std::vector<std::uint32_t> trace(kWarmup + kRequests);
    fairway::core::Random random(static_cast<std::uint64_t>(alpha * 1000));
    for (auto& k : trace) {
      const double u = random.uniform() * sum;
      const auto rank =
          static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      k = keyOfRank[std::min(rank, kKeys - 1)];
    }
    std::printf("| %.1f |", alpha);
    for (double s : sizes) {
      double ratio[2];
      for (int p = 0; p < 2; ++p) {
        cache::MemoryStoreConfig config;
        config.maxEntries = static_cast<std::size_t>(s * kKeys);
        config.maxBytes = std::size_t{1} << 40;
        config.shards = 1;
        config.policy = p == 0 ? EvictionPolicy::kLru : EvictionPolicy::kS3Fifo;
        MemoryStore store(config);
        std::size_t hits = 0;
        for (std::size_t i = 0; i < trace.size(); ++i) {
          const EntryPtr& e = entries[trace[i]];
          auto found = store.lookup(e->key());
          if (found.ok() && found.value()) {
            hits += i >= kWarmup ? 1 : 0;
          } else {
            (void)store.insert(e);
          }
        }
        ratio[p] = static_cast<double>(hits) / kRequests;
      }
      std::printf(" %.1f%% / %.1f%% (%+.1f) |", ratio[0] * 100, ratio[1] * 100,
                  (ratio[1] - ratio[0]) * 100);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hit-ratio") == 0) {
      return hitRatioTable();
    }
  }
  for (EvictionPolicy policy : {EvictionPolicy::kLru, EvictionPolicy::kS3Fifo}) {
    const std::string name = policy == EvictionPolicy::kLru ? "lru" : "s3fifo";
    const auto add = [&](const std::string& what, auto&& body) {
      return benchmark::RegisterBenchmark(("store/" + what + "/" + name).c_str(),
                                          [policy, body](benchmark::State& s) { body(s, policy); })
          ->ArgName("entries")
          ->Arg(10'000)
          ->Arg(1'000'000)
          ->Threads(1)
          ->Threads(2)
          ->UseRealTime();
    };
    add("lookup_hit_uniform",
        [](benchmark::State& s, EvictionPolicy p) { lookupHit(s, p, false); });
    add("lookup_hit_zipf", [](benchmark::State& s, EvictionPolicy p) { lookupHit(s, p, true); });
    add("lookup_miss", [](benchmark::State& s, EvictionPolicy p) { lookupMiss(s, p); });
    add("insert_rewrite", [](benchmark::State& s, EvictionPolicy p) { insertRewrite(s, p); });
    add("insert_new", [](benchmark::State& s, EvictionPolicy p) {
      insertNew(s, p);
    })->Iterations(kInsertsPerThread);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
