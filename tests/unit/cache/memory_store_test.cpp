// The memory store: bounds (entries, bytes, variants), exact LRU order, S3-FIFO behaviour, and
// concurrent use from real threads.

#include <algorithm>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/core/random.hpp>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

EntryPtr entry(const std::string& key, std::string secondaryKey = "", std::string body = "x",
               std::vector<std::string> tags = {}) {
  return std::make_shared<const Entry>(key, std::move(secondaryKey),
                                       Response{200, {}, makeBody(std::move(body))}, w0, w0,
                                       std::move(tags));
}

MemoryStoreConfig storeConfig(std::size_t entries, EvictionPolicy policy = EvictionPolicy::kLru) {
  MemoryStoreConfig config;
  config.maxEntries = entries;
  config.maxBytes = 1 << 30;
  config.shards = 1;
  config.policy = policy;
  return config;
}

bool hit(MemoryStore& store, const std::string& key) {
  auto found = store.lookup(key);
  return found.ok() && found.value() != nullptr;
}

// LRU evicts exactly the least recently used key; a lookup or a rewrite counts as a use.
TEST(MemoryStore, LruEvictsInExactRecencyOrder) {
  MemoryStore store(storeConfig(3));
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_TRUE(store.insert(entry(k)).ok());
  }
  EXPECT_EQ(store.evictionOrder(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(hit(store, "a"));
  EXPECT_EQ(store.evictionOrder(), (std::vector<std::string>{"b", "c", "a"}));
  ASSERT_TRUE(store.insert(entry("d")).ok());
  EXPECT_EQ(store.evictionOrder(), (std::vector<std::string>{"c", "a", "d"}));
  ASSERT_TRUE(store.insert(entry("c", "", "rewritten")).ok());
  EXPECT_EQ(store.evictionOrder(), (std::vector<std::string>{"a", "d", "c"}));
  ASSERT_TRUE(store.insert(entry("e")).ok());
  EXPECT_EQ(store.evictionOrder(), (std::vector<std::string>{"d", "c", "e"}));
  EXPECT_FALSE(store.contains("a"));
  EXPECT_EQ(store.stats().evictions, 2u);
}

// contains() is not a use.
TEST(MemoryStore, ContainsDoesNotTouch) {
  MemoryStore store(storeConfig(2));
  ASSERT_TRUE(store.insert(entry("a")).ok());
  ASSERT_TRUE(store.insert(entry("b")).ok());
  EXPECT_TRUE(store.contains("a"));
  ASSERT_TRUE(store.insert(entry("c")).ok());
  EXPECT_FALSE(store.contains("a"));
}

// The byte bound evicts as the entry bound does; a single entry above it is refused.
TEST(MemoryStore, BytesAreBounded) {
  const std::size_t charge = entry("k0", "", std::string(1000, 'x'))->charge();
  MemoryStoreConfig config = storeConfig(100);
  config.maxBytes = charge * 3;
  MemoryStore store(config);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store.insert(entry("k" + std::to_string(i), "", std::string(1000, 'x'))).ok());
  }
  EXPECT_EQ(store.stats().entries, 3u);
  EXPECT_LE(store.stats().bytes, config.maxBytes);
  EXPECT_FALSE(store.contains("k1"));
  EXPECT_TRUE(store.contains("k2"));
  const Status tooLarge = store.insert(entry("big", "", std::string(charge * 4, 'x')));
  ASSERT_FALSE(tooLarge.ok());
  EXPECT_EQ(tooLarge.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(store.stats().rejections, 1u);
}

// Each variant is a stored response: variants count towards max entries.
TEST(MemoryStore, VariantsCountAsEntries) {
  MemoryStore store(storeConfig(3));
  ASSERT_TRUE(store.insert(entry("a", "v=1\n")).ok());
  ASSERT_TRUE(store.insert(entry("a", "v=2\n")).ok());
  ASSERT_TRUE(store.insert(entry("b")).ok());
  EXPECT_EQ(store.stats().entries, 3u);
  ASSERT_TRUE(store.insert(entry("c")).ok());  // evicts "a", both its variants
  EXPECT_EQ(store.stats().entries, 2u);
  EXPECT_FALSE(store.contains("a"));
  // Growing the key being written never evicts that key itself.
  ASSERT_TRUE(store.insert(entry("c", "v=2\n")).ok());
  ASSERT_TRUE(store.insert(entry("c", "v=3\n")).ok());
  EXPECT_TRUE(store.contains("c"));
  EXPECT_EQ(store.stats().entries, 3u);
}

// The variant limit drops the oldest variant by response time.
TEST(MemoryStore, VariantLimitDropsOldest) {
  MemoryStoreConfig config = storeConfig(10);
  config.maxVariants = 2;
  MemoryStore store(config);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        store
            .insert(std::make_shared<const Entry>("k", "v=" + std::to_string(i) + "\n", Response{},
                                                  w0, w0 + std::chrono::seconds(i)))
            .ok());
  }
  auto variants = store.lookup("k").value();
  ASSERT_EQ(variants->size(), 2u);
  EXPECT_EQ((*variants)[0]->secondaryKey(), "v=1\n");
  EXPECT_EQ((*variants)[1]->secondaryKey(), "v=2\n");
}

// A lookup's result stays valid after the key is evicted or rewritten (entries are immutable).
TEST(MemoryStore, LookupResultOutlivesEviction) {
  MemoryStore store(storeConfig(1));
  ASSERT_TRUE(store.insert(entry("a", "", "first")).ok());
  VariantsPtr held = store.lookup("a").value();
  ASSERT_TRUE(store.insert(entry("b")).ok());
  EXPECT_FALSE(store.contains("a"));
  EXPECT_EQ(*held->front()->response().body, "first");
}

// S3-FIFO: new keys pass through the small FIFO; a key hit while there moves to main when it
// reaches the tail; the others leave (Yang et al. 2023, Algorithm 1).
TEST(MemoryStore, S3FifoPromotesKeysHitInTheSmallQueue) {
  MemoryStore store(storeConfig(10, EvictionPolicy::kS3Fifo));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store.insert(entry("k" + std::to_string(i))).ok());
  }
  EXPECT_TRUE(hit(store, "k1"));
  ASSERT_TRUE(store.insert(entry("n0")).ok());  // k0 (never hit) leaves
  EXPECT_FALSE(store.contains("k0"));
  ASSERT_TRUE(store.insert(entry("n1")).ok());  // k1 (hit) moves to main; k2 leaves
  EXPECT_TRUE(store.contains("k1"));
  EXPECT_FALSE(store.contains("k2"));
  const auto order = store.evictionOrder();
  EXPECT_EQ(order.back(), "k1");  // main comes after the small queue
}

// S3-FIFO: a key evicted from the small queue is remembered by the ghost queue; coming back soon,
// it goes straight to main.
TEST(MemoryStore, S3FifoGhostHitGoesToMain) {
  MemoryStore store(storeConfig(10, EvictionPolicy::kS3Fifo));
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(store.insert(entry("k" + std::to_string(i))).ok());
  }
  ASSERT_FALSE(store.contains("k0"));
  ASSERT_TRUE(store.insert(entry("k0")).ok());  // a ghost hit
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store.insert(entry("m" + std::to_string(i))).ok());
  }
  // Ten newcomers pushed the small queue through (k0 would have left with the tenth), but k0
  // sits in main.
  EXPECT_TRUE(store.contains("k0"));
  EXPECT_FALSE(store.contains("k5"));
}

// The same with keys of every length around the store's internal split (36 bytes kept next to
// the node's header, the rest after it) and past its 256-byte hashing buffer, and a non-zero hash
// seed: an evicted key's hash is computed again from the node, and must match the one it was
// stored under for the ghost to recognise it.
TEST(MemoryStore, S3FifoGhostRecognisesKeysOfAnyLength) {
  for (std::size_t length : {2, 35, 36, 37, 100, 256, 300}) {
    SCOPED_TRACE(length);
    MemoryStoreConfig config = storeConfig(10, EvictionPolicy::kS3Fifo);
    config.hashSeed = 0x5eed1234abcdULL;
    MemoryStore store(config);
    const auto key = [length](const std::string& name) {
      return name + std::string(length > name.size() ? length - name.size() : 0, '/');
    };
    for (int i = 0; i < 11; ++i) {
      ASSERT_TRUE(store.insert(entry(key("k" + std::to_string(i)))).ok());
    }
    ASSERT_FALSE(store.contains(key("k0")));
    ASSERT_TRUE(store.insert(entry(key("k0"))).ok());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store.insert(entry(key("m" + std::to_string(i)))).ok());
    }
    EXPECT_TRUE(store.contains(key("k0")));
    EXPECT_FALSE(store.contains(key("k5")));
  }
}

// Keys are compared whole, whatever their length: a key differing from a stored one only in its
// first or last byte, or one byte shorter, misses; eviction order, prefix purges (with prefixes
// ending on both sides of the 36-byte split) and erase see the whole key.
TEST(MemoryStore, KeysOfEveryLengthAreComparedWhole) {
  const std::vector<std::size_t> lengths = {1, 2, 35, 36, 37, 64, 255, 256, 257, 1000};
  MemoryStore store(storeConfig(100));
  std::vector<std::string> keys;
  for (std::size_t length : lengths) {
    std::string key = std::to_string(length) + "/";  // no key is a prefix of another
    for (std::size_t i = key.size(); i < length; ++i) {
      key += static_cast<char>('a' + i % 26);
    }
    key.resize(length);
    keys.push_back(key);
    ASSERT_TRUE(store.insert(entry(key, "", "body" + std::to_string(length))).ok());
  }
  ASSERT_TRUE(store.insert(entry("")).ok());  // the empty key is a key like the others
  for (const std::string& key : keys) {
    SCOPED_TRACE(key.size());
    auto found = store.lookup(key);
    ASSERT_TRUE(found.ok() && found.value() != nullptr);
    EXPECT_EQ(found.value()->front()->key(), key);
    std::string other = key;
    other.back() = other.back() == 'z' ? 'y' : 'z';
    EXPECT_FALSE(hit(store, other));
    other = key;
    other.front() = other.front() == 'z' ? 'y' : 'z';
    EXPECT_FALSE(hit(store, other));
    if (key.size() > 1) {  // (the 1-byte key's shorter self is the empty key, stored)
      EXPECT_FALSE(hit(store, key.substr(0, key.size() - 1)));
    }
  }
  std::vector<std::string> order = store.evictionOrder();
  std::vector<std::string> expected = keys;
  expected.insert(expected.begin(), "");
  std::sort(order.begin(), order.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(order, expected);

  // A purge by a 40-byte prefix of the 1000-byte key takes it and nothing else; one by a 36-byte
  // prefix of the 37-byte key takes that one alone too (their contents differ).
  EXPECT_EQ(store.purgePrefix(keys[9].substr(0, 40)).value(), 1u);
  EXPECT_FALSE(store.contains(keys[9]));
  EXPECT_EQ(store.purgePrefix(keys[4].substr(0, 36)).value(), 1u);
  EXPECT_FALSE(store.contains(keys[4]));
  EXPECT_EQ(store.erase(keys[8]).value(), 1u);
  EXPECT_EQ(store.stats().entries, keys.size() - 3 + 1);
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 7}) {
    EXPECT_TRUE(hit(store, keys[i])) << keys[i].size();
  }
}

// S3-FIFO resists scans: keys hit before a long run of one-time keys survive it, where LRU loses
// them all.
TEST(MemoryStore, S3FifoResistsScansWhereLruDoesNot) {
  for (EvictionPolicy policy : {EvictionPolicy::kS3Fifo, EvictionPolicy::kLru}) {
    MemoryStore store(storeConfig(100, policy));
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store.insert(entry("hot" + std::to_string(i))).ok());
      EXPECT_TRUE(hit(store, "hot" + std::to_string(i)));
    }
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(store.insert(entry("scan" + std::to_string(i))).ok());
    }
    int survivors = 0;
    for (int i = 0; i < 50; ++i) {
      survivors += store.contains("hot" + std::to_string(i)) ? 1 : 0;
    }
    if (policy == EvictionPolicy::kS3Fifo) {
      EXPECT_EQ(survivors, 50);
    } else {
      EXPECT_EQ(survivors, 0);
    }
    EXPECT_EQ(store.stats().entries, 100u);
  }
}

// S3-FIFO: when main must give up a key, one hit since its last pass is reinserted at the head
// (its counter spent) and the next unhit key goes instead.
TEST(MemoryStore, S3FifoMainReinsertsKeysHitSinceLastPass) {
  MemoryStore store(storeConfig(10, EvictionPolicy::kS3Fifo));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store.insert(entry("k" + std::to_string(i))).ok());
    EXPECT_TRUE(hit(store, "k" + std::to_string(i)));
  }
  // n0 makes room: all ten were hit, so all move to main, and main's tail (k0) goes.
  ASSERT_TRUE(store.insert(entry("n0")).ok());
  EXPECT_FALSE(store.contains("k0"));
  EXPECT_TRUE(hit(store, "k1"));
  ASSERT_TRUE(store.insert(entry("n1")).ok());  // n0 leaves the small queue for the ghost
  ASSERT_TRUE(store.insert(entry("n0")).ok());  // ghost hit: to main; n1 leaves the small queue
  // The small queue is empty: room comes from main, whose tail k1 was hit and k2 was not.
  ASSERT_TRUE(store.insert(entry("n2")).ok());
  EXPECT_TRUE(store.contains("k1"));
  EXPECT_FALSE(store.contains("k2"));
  EXPECT_EQ(store.stats().entries, 10u);
}

// The bounds hold across shards: split exactly, every shard at least one entry.
TEST(MemoryStore, ShardsShareTheBoundsExactly) {
  MemoryStoreConfig config = storeConfig(1000);
  config.shards = 16;
  MemoryStore store(config);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(store.insert(entry("key-" + std::to_string(i))).ok());
  }
  EXPECT_LE(store.stats().entries, 1000u);
  EXPECT_GE(store.stats().entries, 900u);
  MemoryStoreConfig tiny = storeConfig(3);
  tiny.shards = 64;
  MemoryStore small(tiny);
  EXPECT_LE(small.config().shards, 2u);
}

// erase() removes every variant of a key and reports how many.
TEST(MemoryStore, EraseRemovesAllVariants) {
  MemoryStore store(storeConfig(10));
  ASSERT_TRUE(store.insert(entry("a", "v=1\n")).ok());
  ASSERT_TRUE(store.insert(entry("a", "v=2\n")).ok());
  EXPECT_EQ(store.erase("a").value(), 2u);
  EXPECT_EQ(store.erase("a").value(), 0u);
  EXPECT_EQ(store.stats().entries, 0u);
  EXPECT_EQ(store.stats().bytes, 0u);
}

// Many threads inserting, looking up, erasing and purging at once: the bounds and the counters
// hold, and nothing is lost or freed twice (run under ASan).
TEST(MemoryStore, ConcurrentUseKeepsBoundsAndCounts) {
  for (EvictionPolicy policy : {EvictionPolicy::kLru, EvictionPolicy::kS3Fifo}) {
    MemoryStoreConfig config = storeConfig(200, policy);
    config.shards = 4;
    MemoryStore store(config);
    constexpr int kThreads = 4;
    constexpr int kOps = 3000;
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        core::Random random(static_cast<std::uint64_t>(t) + 1);
        start.arrive_and_wait();
        for (int i = 0; i < kOps; ++i) {
          const std::string key = "k" + std::to_string(random.below(500));
          switch (random.below(10)) {
            case 0:
              (void)store.erase(key);
              break;
            case 1:
              (void)store.purgeTag("tag" + std::to_string(random.below(5)));
              break;
            case 2:
            case 3:
            case 4:
              (void)store.insert(entry(key, "v=" + std::to_string(random.below(3)) + "\n", "x",
                                       {"tag" + std::to_string(random.below(5))}));
              break;
            default:
              if (auto found = store.lookup(key); found.ok() && found.value()) {
                EXPECT_EQ(found.value()->front()->key(), key);
              }
          }
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    const StoreStats stats = store.stats();
    EXPECT_LE(stats.entries, 200u);
    std::size_t present = 0;
    for (const std::string& key : store.evictionOrder()) {
      present += store.lookup(key).value()->size();
    }
    EXPECT_EQ(present, stats.entries);
  }
}

}  // namespace
}  // namespace fairway::cache
