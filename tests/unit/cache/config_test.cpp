// Configuration: validation messages name the field in snake_case; factories pick the store.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

std::string errorOf(const Config& config) {
  auto cache = make(config);
  return cache ? std::string("ok") : cache.error().message;
}

// The defaults are valid, and the original design's cache section means what it did.
TEST(Config, DefaultsAreValid) {
  EXPECT_TRUE(validate(Config{}).ok());
  Config original;
  original.maxSize = 1000;
  original.ttl = 300s;
  EXPECT_TRUE(make(original).ok());
}

// Each field's error names it and says what was given.
TEST(Config, ErrorsNameTheField) {
  Config c;
  c.maxSize = 0;
  EXPECT_EQ(errorOf(c), "cache.max_size: must be >= 1 (got 0)");
  c = {};
  c.ttl = -1s;
  EXPECT_EQ(errorOf(c), "cache.ttl: must be >= 0 (got -1s)");
  c = {};
  c.maxObjectSize = 0;
  EXPECT_EQ(errorOf(c), "cache.max_object_size: must be >= 1 (got 0)");
  c = {};
  c.maxBytes = 10;
  c.maxObjectSize = 100;
  EXPECT_EQ(errorOf(c), "cache.max_bytes: must be >= max_object_size (100) (got 10)");
  c = {};
  c.shards = 3;
  EXPECT_EQ(errorOf(c), "cache.shards: must be a power of two in [1, 1024] (got 3)");
  c = {};
  c.heuristicFraction = 0;
  EXPECT_NE(errorOf(c).find("cache.heuristic_fraction:"), std::string::npos);
  c = {};
  c.maxVariants = 0;
  EXPECT_NE(errorOf(c).find("cache.max_variants:"), std::string::npos);
  c = {};
  c.coalesceTimeout = -1ms;
  EXPECT_NE(errorOf(c).find("cache.coalesce_timeout:"), std::string::npos);
  c = {};
  c.staleIfError = -1s;
  EXPECT_NE(errorOf(c).find("cache.stale_if_error:"), std::string::npos);
}

// An unknown eviction policy lists the known ones.
TEST(Config, UnknownPolicyListsTheKnownOnes) {
  Config c;
  c.policy = "x";
  auto cache = make(c);
  ASSERT_FALSE(cache);
  EXPECT_EQ(cache.error().code, ErrorCode::kUnknownPolicy);
  EXPECT_EQ(cache.error().message,
            "cache.policy: unknown eviction policy 'x' (known: lru, s3fifo)");
  EXPECT_EQ(policyNames(), (std::vector<std::string>{"lru", "s3fifo"}));
}

// makeStore() builds the memory store the configuration names, with its bounds.
TEST(Config, MakeStoreHonoursTheBounds) {
  Config c;
  c.maxSize = 2;
  c.shards = 1;
  c.policy = "s3fifo";
  auto store = makeStore(c);
  ASSERT_TRUE(store);
  auto* memory = dynamic_cast<MemoryStore*>(store.value().get());
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->config().policy, EvictionPolicy::kS3Fifo);
  EXPECT_EQ(memory->config().maxEntries, 2u);
  EXPECT_FALSE(memory->mayBlock());
}

// Shards shrink so that each can hold the largest object.
TEST(Config, ShardsShrinkToFitTheLargestObject) {
  Config c;
  c.maxBytes = 4 << 20;
  c.maxObjectSize = 1 << 20;
  c.shards = 16;
  auto store = makeStore(c);
  ASSERT_TRUE(store);
  EXPECT_EQ(dynamic_cast<MemoryStore&>(*store.value()).config().shards, 4u);
}

// A Cache runs on any Store: here one whose every call fails, as a dead remote store would; the
// cache degrades to a pass-through and counts the errors.
class UnavailableStore final : public Store {
 public:
  // fairway::cache::Store
  Result<VariantsPtr> lookup(std::string_view) override { return down(); }
  Status insert(EntryPtr) override { return down(); }
  Result<std::size_t> erase(std::string_view) override { return down(); }
  Result<std::size_t> purgePrefix(std::string_view) override { return down(); }
  Result<std::size_t> purgeTag(std::string_view) override { return down(); }
  StoreStats stats() const override { return {}; }
  bool mayBlock() const override { return true; }

 private:
  static Error down() { return Error{ErrorCode::kUnavailable, "store down"}; }
};

TEST(Config, FailingStoreDegradesToPassThrough) {
  auto made = make(smallConfig(), std::make_shared<UnavailableStore>());
  ASSERT_TRUE(made);
  Cache& cache = *made.value();
  const Response origin = ok({{"Cache-Control", "max-age=60"}}, "fresh");
  EXPECT_EQ(bodyOf(fetch(cache, get(), at(0s), origin).response), "fresh");
  EXPECT_EQ(fetch(cache, get(), at(1s), origin).action, Lookup::Action::kForward);
  EXPECT_FALSE(cache.purge(kUri));
  EXPECT_GE(cache.stats().storeErrors, 3u);
}

// The version CMake reads.
TEST(Config, Version) {
  EXPECT_EQ(kVersion, "0.2.1");
}

}  // namespace
}  // namespace fairway::cache
