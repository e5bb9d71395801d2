// fairway::cache::redis::TieredStore: a MemoryStore in front of a RedisStore on a real
// redis-server, and in front of a second tier that always fails.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/cache/memory_store.hpp>
#include <fairway/cache/parsing.hpp>
#include <fairway/cache/redis/redis_store.hpp>
#include <fairway/cache/redis/tiered_store.hpp>

#include "redis_server.hpp"

namespace fairway::cache::redis {
namespace {

using namespace std::chrono_literals;

const SystemTime kWall = SystemTime(std::chrono::seconds(1'700'000'000));

EntryPtr makeEntry(const std::string& key, const std::string& secondaryKey, const std::string& body,
                   std::vector<std::string> tags = {}) {
  Response response;
  response.headers.add("Date", formatHttpDate(kWall));
  response.headers.add("Cache-Control", "max-age=60");
  if (!secondaryKey.empty()) {
    response.headers.add("Vary", "Accept-Encoding");
  }
  response.body = makeBody(body);
  return std::make_shared<const Entry>(key, secondaryKey, std::move(response), kWall, kWall,
                                       std::move(tags));
}

class TieredStoreTest : public ::testing::Test {
 protected:
  TieredStoreTest() {
    RedisStoreConfig c;
    c.port = server_.port();
    c.keyPrefix =
        "test:" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        ":";
    c.commandTimeout = 500ms;
    c.clock = [this] { return now_; };
    redisConfig_ = c;
    memory_ = std::make_shared<MemoryStore>(MemoryStoreConfig{});
    redis_ = std::shared_ptr<RedisStore>(std::move(RedisStore::make(c)).value());
    tiered_ = std::make_unique<TieredStore>(memory_, redis_);
  }

  fairway::testing::RedisServer server_;
  TimePoint now_ = TimePoint(std::chrono::hours(1));
  RedisStoreConfig redisConfig_;
  std::shared_ptr<MemoryStore> memory_;
  std::shared_ptr<RedisStore> redis_;
  std::unique_ptr<TieredStore> tiered_;
};

// insert() reaches both tiers.
TEST_F(TieredStoreTest, InsertGoesToBothTiers) {
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/a", "", "a")).ok());
  EXPECT_TRUE(memory_->contains("https://x.test/a"));
  EXPECT_NE(redis_->lookup("https://x.test/a").value(), nullptr);
  EXPECT_EQ(tiered_->stats().inserts, 1u);
}

// A first-tier hit is answered without a Redis round trip.
TEST_F(TieredStoreTest, MemoryHitDoesNotTouchRedis) {
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/a", "", "a")).ok());
  const std::uint64_t redisLookups = redis_->stats().lookups;
  Result<VariantsPtr> found = tiered_->lookup("https://x.test/a");
  ASSERT_TRUE(found.ok());
  ASSERT_NE(found.value(), nullptr);
  EXPECT_EQ(redis_->stats().lookups, redisLookups);
  EXPECT_EQ(tiered_->stats().hits, 1u);
}

// A response another proxy stored is found in Redis and fills the first tier with every variant;
// the next lookup stays in memory.
TEST_F(TieredStoreTest, SecondTierHitFillsMemory) {
  auto otherProxy = std::move(RedisStore::make(redisConfig_)).value();
  ASSERT_TRUE(otherProxy->insert(makeEntry("https://x.test/v", "gzip", "g")).ok());
  ASSERT_TRUE(otherProxy->insert(makeEntry("https://x.test/v", "br", "b")).ok());
  EXPECT_FALSE(memory_->contains("https://x.test/v"));

  Result<VariantsPtr> found = tiered_->lookup("https://x.test/v");
  ASSERT_TRUE(found.ok());
  ASSERT_NE(found.value(), nullptr);
  EXPECT_EQ(found.value()->size(), 2u);
  EXPECT_EQ(memory_->lookup("https://x.test/v").value()->size(), 2u);

  const std::uint64_t redisLookups = redis_->stats().lookups;
  EXPECT_NE(tiered_->lookup("https://x.test/v").value(), nullptr);
  EXPECT_EQ(redis_->stats().lookups, redisLookups);
  EXPECT_EQ(tiered_->stats().hits, 2u);
}

// A miss in both tiers is a plain miss.
TEST_F(TieredStoreTest, MissInBothTiersIsAMiss) {
  Result<VariantsPtr> found = tiered_->lookup("https://x.test/none");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value(), nullptr);
  EXPECT_EQ(tiered_->stats().errors, 0u);
}

// erase, purgePrefix and purgeTag reach both tiers.
TEST_F(TieredStoreTest, EraseAndPurgesReachBothTiers) {
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/e", "", "e")).ok());
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/p/1", "", "p")).ok());
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/t", "", "t", {"tag"})).ok());

  EXPECT_EQ(tiered_->erase("https://x.test/e").value(), 1u);
  EXPECT_EQ(tiered_->purgePrefix("https://x.test/p/").value(), 1u);
  EXPECT_EQ(tiered_->purgeTag("tag").value(), 1u);
  for (const char* uri : {"https://x.test/e", "https://x.test/p/1", "https://x.test/t"}) {
    EXPECT_FALSE(memory_->contains(uri)) << uri;
    EXPECT_EQ(redis_->lookup(uri).value(), nullptr) << uri;
  }
}

// Redis down: the tiered store behaves as the memory store alone — hits, misses, inserts and
// purges succeed; failures are counted, never returned.
TEST_F(TieredStoreTest, RedisDownDegradesToMemoryOnly) {
  ASSERT_TRUE(tiered_->insert(makeEntry("https://x.test/kept", "", "k")).ok());
  server_.kill();

  Result<VariantsPtr> miss = tiered_->lookup("https://x.test/elsewhere");
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(miss.value(), nullptr);
  EXPECT_TRUE(redis_->degraded());
  EXPECT_TRUE(tiered_->insert(makeEntry("https://x.test/new", "", "n")).ok());
  EXPECT_NE(tiered_->lookup("https://x.test/new").value(), nullptr);
  EXPECT_NE(tiered_->lookup("https://x.test/kept").value(), nullptr);
  Result<std::size_t> erased = tiered_->erase("https://x.test/new");
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased.value(), 1u);
  EXPECT_TRUE(tiered_->purgePrefix("https://x.test/").ok());
  EXPECT_TRUE(tiered_->purgeTag("tag").ok());
  EXPECT_FALSE(memory_->contains("https://x.test/kept"));
  EXPECT_EQ(tiered_->stats().errors, 5u);
}

// mayBlock() is the second tier's (or the first's) — two memory stores never block.
TEST_F(TieredStoreTest, MayBlockWhenEitherTierMay) {
  EXPECT_TRUE(tiered_->mayBlock());
  TieredStore memoryOnly(std::make_shared<MemoryStore>(MemoryStoreConfig{}),
                         std::make_shared<MemoryStore>(MemoryStoreConfig{}));
  EXPECT_FALSE(memoryOnly.mayBlock());
}

// An entry the first tier refuses (too large for it) is still stored in, and served from, the
// second; only when both refuse does insert() fail.
TEST_F(TieredStoreTest, EntryTooLargeForMemoryLivesInRedis) {
  MemoryStoreConfig small;
  small.maxBytes = 512;
  small.shards = 1;
  auto tinyMemory = std::make_shared<MemoryStore>(small);
  TieredStore tiered(tinyMemory, redis_);
  const EntryPtr big = makeEntry("https://x.test/big", "", std::string(4096, 'b'));
  ASSERT_TRUE(tiered.insert(big).ok());
  EXPECT_FALSE(tinyMemory->contains("https://x.test/big"));
  EXPECT_NE(tiered.lookup("https://x.test/big").value(), nullptr);

  server_.kill();
  const Status refused =
      tiered.insert(makeEntry("https://x.test/big2", "", std::string(4096, 'b')));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace fairway::cache::redis
