// fairway::cache::redis::RedisStore against a real redis-server on a free loopback port.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>
#include <gtest/gtest.h>

#include <fairway/cache/cache.hpp>
#include <fairway/cache/entry.hpp>
#include <fairway/cache/parsing.hpp>
#include <fairway/cache/redis/redis_store.hpp>
#include <fairway/cache/redis/version.hpp>

#include "redis_server.hpp"

namespace fairway::cache::redis {
namespace {

using namespace std::chrono_literals;
using Poco::Redis::Array;

const SystemTime kWall = SystemTime(std::chrono::seconds(1'700'000'000));

// A response as an origin sends it: Date = the response time, the given Cache-Control, a Vary on
// Accept-Encoding when the entry has a secondary key, and `extra` fields.
EntryPtr makeEntry(const std::string& key, const std::string& secondaryKey,
                   const std::string& cacheControl, const std::string& body, SystemTime at = kWall,
                   std::vector<std::string> tags = {}, std::vector<Field> extra = {}) {
  Response response;
  response.headers.add("Date", formatHttpDate(at));
  response.headers.add("Cache-Control", cacheControl);
  if (!secondaryKey.empty()) {
    response.headers.add("Vary", "Accept-Encoding");
  }
  for (Field& f : extra) {
    response.headers.add(std::move(f.name), std::move(f.value));
  }
  response.body = makeBody(body);
  std::sort(tags.begin(), tags.end());
  return std::make_shared<const Entry>(key, secondaryKey, std::move(response), at, at,
                                       std::move(tags));
}

std::string bodyOf(const EntryPtr& entry) {
  return entry->response().body ? *entry->response().body : std::string();
}

const EntryPtr* findVariant(const VariantsPtr& variants, const std::string& secondaryKey) {
  for (const EntryPtr& e : *variants) {
    if (e->secondaryKey() == secondaryKey) {
      return &e;
    }
  }
  return nullptr;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  RedisStoreConfig config() {
    RedisStoreConfig c;
    c.port = server_.port();
    c.keyPrefix =
        "test:" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        ":";
    c.commandTimeout = 500ms;  // generous: the machine is shared; timeout tests set their own
    c.connections = 2;
    c.clock = [this] { return now_; };
    return c;
  }
  std::unique_ptr<RedisStore> makeStore(const RedisStoreConfig& c) {
    auto made = RedisStore::make(c);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return std::move(made).value();
  }
  std::unique_ptr<RedisStore> makeStore() { return makeStore(config()); }

  // A plain POCO client, to look at (and tamper with) what the store wrote.
  Poco::Redis::Client& raw() {
    if (!raw_) {
      raw_ = std::make_unique<Poco::Redis::Client>();
      raw_->connect("127.0.0.1", server_.port(), Poco::Timespan(1, 0));
      raw_->setReceiveTimeout(Poco::Timespan(1, 0));
    }
    return *raw_;
  }
  std::int64_t rawInt(std::initializer_list<std::string> args) {
    Array command;
    for (const std::string& a : args) {
      command << a;
    }
    return raw().execute<Poco::Int64>(command);
  }
  std::string hashKey(const std::string& uri) { return config().keyPrefix + "e:" + uri; }

  fairway::testing::RedisServer server_;
  TimePoint now_ = TimePoint(std::chrono::hours(1));
  std::unique_ptr<Poco::Redis::Client> raw_;
};

TEST(RedisStoreVersionTest, VersionIsDeclaredOnce) {
  EXPECT_EQ(kVersion, "0.1.0");
}

// Several Vary variants of one URI come back whole: status, fields, body, times, tags.
TEST_F(RedisStoreTest, RoundTripsEveryVariantOfAKey) {
  auto store = makeStore();
  const std::string uri = "https://example.test/a?q=1";
  ASSERT_TRUE(store->insert(makeEntry(uri, "gzip", "max-age=60", "zipped", kWall, {"t1"})).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "br", "max-age=60", "brotli", kWall + 1s)).ok());
  ASSERT_TRUE(store
                  ->insert(makeEntry(uri, "", "max-age=60", std::string("\0raw\r\n", 6), kWall + 2s,
                                     {"a", "b c"}))
                  .ok());

  Result<VariantsPtr> found = store->lookup(uri);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_NE(found.value(), nullptr);
  ASSERT_EQ(found.value()->size(), 3u);
  // Oldest response first, as a memory store keeps them.
  EXPECT_EQ((*found.value())[0]->secondaryKey(), "gzip");
  EXPECT_EQ((*found.value())[2]->secondaryKey(), "");
  const EntryPtr& gzip = *findVariant(found.value(), "gzip");
  EXPECT_EQ(gzip->key(), uri);
  EXPECT_EQ(bodyOf(gzip), "zipped");
  EXPECT_EQ(gzip->response().status, 200);
  EXPECT_EQ(gzip->response().headers.first("Vary"), "Accept-Encoding");
  EXPECT_EQ(gzip->responseTime(), kWall);
  EXPECT_EQ(gzip->tags(), std::vector<std::string>{"t1"});
  EXPECT_EQ(bodyOf(*findVariant(found.value(), "")), std::string("\0raw\r\n", 6));
  EXPECT_EQ((*findVariant(found.value(), ""))->tags(), (std::vector<std::string>{"a", "b c"}));

  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.inserts, 3u);
  EXPECT_EQ(stats.lookups, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_TRUE(store->mayBlock());
}

// A key nobody stored is a miss: ok, null.
TEST_F(RedisStoreTest, AbsentKeyIsAMiss) {
  auto store = makeStore();
  Result<VariantsPtr> found = store->lookup("https://example.test/none");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value(), nullptr);
  EXPECT_EQ(store->stats().hits, 0u);
}

// A new response with the same secondary key replaces the stored one; other variants stay.
TEST_F(RedisStoreTest, InsertReplacesTheVariantWithTheSameSecondaryKey) {
  auto store = makeStore();
  const std::string uri = "https://example.test/r";
  ASSERT_TRUE(store->insert(makeEntry(uri, "gzip", "max-age=60", "old")).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "br", "max-age=60", "other")).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "gzip", "max-age=60", "new", kWall + 5s)).ok());
  Result<VariantsPtr> found = store->lookup(uri);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found.value()->size(), 2u);
  EXPECT_EQ(bodyOf(*findVariant(found.value(), "gzip")), "new");
  EXPECT_EQ(bodyOf(*findVariant(found.value(), "br")), "other");
}

// Above max_variants the oldest response goes, as in the memory store — even the one just sent.
TEST_F(RedisStoreTest, KeepsAtMostMaxVariantsDroppingTheOldest) {
  RedisStoreConfig c = config();
  c.maxVariants = 2;
  auto store = makeStore(c);
  const std::string uri = "https://example.test/v";
  ASSERT_TRUE(store->insert(makeEntry(uri, "a", "max-age=60", "a", kWall)).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "b", "max-age=60", "b", kWall + 1s)).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "c", "max-age=60", "c", kWall + 2s)).ok());
  Result<VariantsPtr> found = store->lookup(uri);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found.value()->size(), 2u);
  EXPECT_EQ(findVariant(found.value(), "a"), nullptr);
  EXPECT_NE(findVariant(found.value(), "b"), nullptr);
  EXPECT_NE(findVariant(found.value(), "c"), nullptr);

  ASSERT_TRUE(store->insert(makeEntry(uri, "old", "max-age=60", "old", kWall - 10s)).ok());
  found = store->lookup(uri);
  ASSERT_EQ(found.value()->size(), 2u);
  EXPECT_EQ(findVariant(found.value(), "old"), nullptr);
  EXPECT_EQ(store->stats().evictions, 2u);
}

// Expiry = what is left of the freshness lifetime + the stale allowance (+ grace with a
// validator), at least 1 s, at most max_ttl.
TEST_F(RedisStoreTest, ExpiryFollowsFreshnessAndStaleAllowances) {
  RedisStoreConfig c = config();
  c.maxTtl = 3600s;
  c.revalidationGrace = 120s;
  auto store = makeStore(c);
  const auto expiry = [&](const std::string& cc, std::vector<Field> extra = {}) {
    return store->expiryOf(*makeEntry("https://e.test/", "", cc, "", kWall, {}, std::move(extra)));
  };
  EXPECT_EQ(expiry("max-age=60"), 60s);
  EXPECT_EQ(expiry("max-age=60, stale-while-revalidate=30"), 90s);
  EXPECT_EQ(expiry("max-age=60, stale-while-revalidate=30, stale-if-error=300"), 360s);
  // must-revalidate, s-maxage and no-cache forbid stale use: no allowance.
  EXPECT_EQ(expiry("max-age=60, must-revalidate, stale-if-error=300"), 60s);
  EXPECT_EQ(expiry("s-maxage=60, stale-while-revalidate=30"), 60s);
  // Age already spent counts against the lifetime (RFC 9111 §4.2.3).
  EXPECT_EQ(expiry("max-age=100", {{"Age", "30"}}), 70s);
  // Nothing fresh, nothing stale: 1 s; a validator adds the revalidation grace.
  EXPECT_EQ(expiry("max-age=0"), 1s);
  EXPECT_EQ(expiry("no-cache", {{"ETag", "\"v1\""}}), 120s);
  EXPECT_EQ(expiry("max-age=99999999"), 3600s);
  // The configured stale_if_error applies where the response does not forbid stale use.
  c.freshness.staleIfError = 50s;
  auto lenient = makeStore(c);
  EXPECT_EQ(lenient->expiryOf(*makeEntry("https://e.test/", "", "max-age=60", "")), 110s);
}

// The expiry is set in Redis (PEXPIRE) on the key and its tag sets; a longer-lived variant extends
// the key's, a shorter one does not shorten it.
TEST_F(RedisStoreTest, ExpiryIsSetInRedis) {
  auto store = makeStore();
  const std::string uri = "https://example.test/ttl";
  ASSERT_TRUE(store->insert(makeEntry(uri, "a", "max-age=60", "", kWall, {"tag"})).ok());
  std::int64_t pttl = rawInt({"PTTL", hashKey(uri)});
  EXPECT_GT(pttl, 55'000);
  EXPECT_LE(pttl, 60'000);
  const std::int64_t tagTtl = rawInt({"PTTL", config().keyPrefix + "t:tag"});
  EXPECT_GT(tagTtl, 55'000);
  EXPECT_LE(tagTtl, 60'000);

  ASSERT_TRUE(store->insert(makeEntry(uri, "b", "max-age=600", "")).ok());
  pttl = rawInt({"PTTL", hashKey(uri)});
  EXPECT_GT(pttl, 595'000);
  EXPECT_LE(pttl, 600'000);
  ASSERT_TRUE(store->insert(makeEntry(uri, "c", "max-age=10", "")).ok());
  EXPECT_GT(rawInt({"PTTL", hashKey(uri)}), 595'000);
}

// erase() removes every variant and says how many; erasing nothing is 0, not an error.
TEST_F(RedisStoreTest, EraseRemovesEveryVariant) {
  auto store = makeStore();
  const std::string uri = "https://example.test/e";
  ASSERT_TRUE(store->insert(makeEntry(uri, "a", "max-age=60", "")).ok());
  ASSERT_TRUE(store->insert(makeEntry(uri, "b", "max-age=60", "", kWall, {"t"})).ok());
  Result<std::size_t> erased = store->erase(uri);
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased.value(), 2u);
  EXPECT_EQ(store->lookup(uri).value(), nullptr);
  EXPECT_EQ(store->erase(uri).value(), 0u);
  // The tag index forgot it too.
  EXPECT_EQ(rawInt({"EXISTS", config().keyPrefix + "t:t"}), 0);
}

// purgePrefix() matches the prefix literally: glob characters in it (*, ?, [, ], \) match only
// themselves.
TEST_F(RedisStoreTest, PurgePrefixTreatsGlobCharactersLiterally) {
  auto store = makeStore();
  const std::vector<std::string> purged = {"https://a.test/x*y/1", "https://a.test/x*y/2",
                                           "https://a.test/[ab]?/1",
                                           "https://a.test/back\\slash/1"};
  const std::vector<std::string> kept = {"https://a.test/xAy/1", "https://a.test/x*y",
                                         "https://a.test/bc/1", "https://a.test/backslash/1",
                                         "https://b.test/x*y/1"};
  for (const auto& uri : purged) {
    ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", uri)).ok());
  }
  for (const auto& uri : kept) {
    ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", uri)).ok());
  }
  EXPECT_EQ(store->purgePrefix("https://a.test/x*y/").value(), 2u);
  EXPECT_EQ(store->purgePrefix("https://a.test/[ab]?/").value(), 1u);
  EXPECT_EQ(store->purgePrefix("https://a.test/back\\slash/").value(), 1u);
  for (const auto& uri : purged) {
    EXPECT_EQ(store->lookup(uri).value(), nullptr) << uri;
  }
  for (const auto& uri : kept) {
    EXPECT_NE(store->lookup(uri).value(), nullptr) << uri;
  }
}

// purgePrefix() walks every SCAN page, not just the first.
TEST_F(RedisStoreTest, PurgePrefixCoversManyKeys) {
  auto store = makeStore();
  for (int i = 0; i < 1500; ++i) {
    ASSERT_TRUE(
        store->insert(makeEntry("https://m.test/" + std::to_string(i), "", "max-age=60", "")).ok());
  }
  ASSERT_TRUE(store->insert(makeEntry("https://n.test/0", "", "max-age=60", "")).ok());
  EXPECT_EQ(store->purgePrefix("https://m.test/").value(), 1500u);
  EXPECT_NE(store->lookup("https://n.test/0").value(), nullptr);
}

// purgeTag() removes the variants carrying the tag and only them; a variant that was replaced by
// an untagged one is not purged by its old tag.
TEST_F(RedisStoreTest, PurgeTagRemovesOnlyTaggedVariants) {
  auto store = makeStore();
  const std::string a = "https://t.test/a";
  const std::string b = "https://t.test/b";
  const std::string c = "https://t.test/c";
  ASSERT_TRUE(store->insert(makeEntry(a, "gzip", "max-age=60", "", kWall, {"t1"})).ok());
  ASSERT_TRUE(store->insert(makeEntry(a, "br", "max-age=60", "")).ok());
  ASSERT_TRUE(store->insert(makeEntry(b, "", "max-age=60", "", kWall, {"t1", "t2"})).ok());
  ASSERT_TRUE(store->insert(makeEntry(c, "", "max-age=60", "", kWall, {"t3"})).ok());
  ASSERT_TRUE(store->insert(makeEntry(c, "", "max-age=60", "untagged now")).ok());

  EXPECT_EQ(store->purgeTag("t1").value(), 2u);
  Result<VariantsPtr> left = store->lookup(a);
  ASSERT_NE(left.value(), nullptr);
  ASSERT_EQ(left.value()->size(), 1u);
  EXPECT_EQ(left.value()->front()->secondaryKey(), "br");
  EXPECT_EQ(store->lookup(b).value(), nullptr);
  EXPECT_EQ(store->purgeTag("t2").value(), 0u);  // b went with t1
  EXPECT_EQ(store->purgeTag("t3").value(), 0u);
  EXPECT_NE(store->lookup(c).value(), nullptr);
  EXPECT_EQ(store->purgeTag("never-used").value(), 0u);
}

// Two stores (two proxies) on one Redis see each other's inserts and erasures.
TEST_F(RedisStoreTest, TwoInstancesShareOneCache) {
  auto proxyA = makeStore();
  auto proxyB = makeStore();
  const std::string uri = "https://shared.test/x";
  ASSERT_TRUE(proxyA->insert(makeEntry(uri, "", "max-age=60", "from A")).ok());
  Result<VariantsPtr> seen = proxyB->lookup(uri);
  ASSERT_TRUE(seen.ok());
  ASSERT_NE(seen.value(), nullptr);
  EXPECT_EQ(bodyOf(seen.value()->front()), "from A");
  ASSERT_TRUE(proxyB->insert(makeEntry(uri, "", "max-age=60", "from B", kWall + 1s)).ok());
  EXPECT_EQ(bodyOf(proxyA->lookup(uri).value()->front()), "from B");
  EXPECT_EQ(proxyB->erase(uri).value(), 1u);
  EXPECT_EQ(proxyA->lookup(uri).value(), nullptr);
}

// The Cache over RedisStore: a response stored by one proxy's Cache is served by another's.
TEST_F(RedisStoreTest, CachesOnTwoProxiesServeEachOthersResponses) {
  Config cacheConfig;
  auto cacheA = make(cacheConfig, std::shared_ptr<Store>(makeStore()));
  auto cacheB = make(cacheConfig, std::shared_ptr<Store>(makeStore()));
  ASSERT_TRUE(cacheA.ok() && cacheB.ok());
  const Request request{"GET", "https://origin.test/page", {}};
  const Instant t{now_, kWall};
  Lookup miss = cacheA.value()->lookup(request, t);
  ASSERT_EQ(miss.action, Lookup::Action::kForward);
  Response response;
  response.headers = {{"Date", formatHttpDate(kWall)}, {"Cache-Control", "max-age=60"}};
  response.body = makeBody("page");
  (void)cacheA.value()->complete(miss, request, response, kWall, t);

  Lookup hit = cacheB.value()->lookup(request, Instant{now_ + 1s, kWall + 1s});
  ASSERT_EQ(hit.action, Lookup::Action::kServe);
  ASSERT_NE(hit.response.body, nullptr);
  EXPECT_EQ(*hit.response.body, "page");
  EXPECT_EQ(hit.response.headers.first("Age"), "1");
}

// Bytes that do not decode — garbage, truncated, another key's entry — read as kCorrupt (or are
// skipped beside good variants) and are deleted; a key of another type is deleted too.
TEST_F(RedisStoreTest, CorruptValuesReadAsCorruptAndAreDeleted) {
  auto store = makeStore();
  const std::string uri = "https://c.test/garbage";
  rawInt({"HSET", hashKey(uri), "v:", "not an entry", "m:", "0"});
  Result<VariantsPtr> found = store->lookup(uri);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(rawInt({"EXISTS", hashKey(uri)}), 0);
  found = store->lookup(uri);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value(), nullptr);

  const std::string truncated = "https://c.test/truncated";
  const std::string bytes = encodeEntry(*makeEntry(truncated, "", "max-age=60", "body"));
  rawInt({"HSET", hashKey(truncated), "v:", bytes.substr(0, bytes.size() - 3)});
  EXPECT_EQ(store->lookup(truncated).error().code, ErrorCode::kCorrupt);

  const std::string mixed = "https://c.test/mixed";
  ASSERT_TRUE(store->insert(makeEntry(mixed, "gzip", "max-age=60", "good")).ok());
  // Another key's entry copied here is not this key's response.
  rawInt({"HSET", hashKey(mixed), "v:br", encodeEntry(*makeEntry(uri, "br", "max-age=60", "x"))});
  found = store->lookup(mixed);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found.value()->size(), 1u);
  EXPECT_EQ(bodyOf(found.value()->front()), "good");
  EXPECT_EQ(rawInt({"HEXISTS", hashKey(mixed), "v:br"}), 0);

  const std::string wrongType = "https://c.test/string";
  Array set;
  set << "SET" << hashKey(wrongType) << "x";
  raw().execute<std::string>(set);
  EXPECT_EQ(store->lookup(wrongType).error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(rawInt({"EXISTS", hashKey(wrongType)}), 0);
  raw().execute<std::string>(set);
  EXPECT_TRUE(store->insert(makeEntry(wrongType, "", "max-age=60", "over it")).ok());
  EXPECT_EQ(bodyOf(store->lookup(wrongType).value()->front()), "over it");

  EXPECT_GE(store->stats().errors, 4u);
  EXPECT_FALSE(store->degraded());  // bad data is not a bad Redis
}

// An entry above max_object_size is refused without a round trip.
TEST_F(RedisStoreTest, RejectsEntriesAboveMaxObjectSize) {
  RedisStoreConfig c = config();
  c.maxObjectSize = 1024;
  auto store = makeStore(c);
  server_.kill();  // no network needed to say no
  const Status s =
      store->insert(makeEntry("https://big.test/", "", "max-age=60", std::string(2048, 'x')));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(store->stats().rejections, 1u);
  EXPECT_FALSE(store->degraded());
}

// make() connects lazily: a Redis that is not there is not an error until a call needs it.
TEST_F(RedisStoreTest, ConnectsLazily) {
  server_.kill();
  auto store = makeStore();
  const auto start = std::chrono::steady_clock::now();
  Result<VariantsPtr> found = store->lookup("https://lazy.test/");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);
}

// Redis killed mid-run: every call is kUnavailable, quickly, and nothing throws; within the retry
// interval no call touches the network.
TEST_F(RedisStoreTest, KilledRedisIsUnavailableQuickly) {
  auto store = makeStore();
  const std::string uri = "https://k.test/";
  ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", "")).ok());
  server_.kill();
  const auto start = std::chrono::steady_clock::now();
  Result<VariantsPtr> found = store->lookup(uri);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(store->degraded());

  Status inserted = Status{};
  EXPECT_NO_THROW(inserted = store->insert(makeEntry(uri, "", "max-age=60", "")));
  EXPECT_EQ(inserted.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store->erase(uri).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store->purgePrefix("https://").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store->purgeTag("t").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store->stats().errors, 5u);
}

// A hung Redis (SIGSTOP: accepts bytes, never answers) costs one command timeout; then, for the
// retry interval, calls return at once.
TEST_F(RedisStoreTest, PausedRedisTimesOutWithinTheCommandTimeout) {
  RedisStoreConfig c = config();
  c.commandTimeout = 300ms;
  c.connections = 1;
  auto store = makeStore(c);
  const std::string uri = "https://p.test/";
  ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", "")).ok());
  server_.pause();
  const auto start = std::chrono::steady_clock::now();
  Result<VariantsPtr> found = store->lookup(uri);
  const auto took = std::chrono::steady_clock::now() - start;
  const auto again = std::chrono::steady_clock::now();
  Result<VariantsPtr> second = store->lookup(uri);
  const auto tookAgain = std::chrono::steady_clock::now() - again;
  server_.resume();
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);
  EXPECT_GE(took, 250ms);  // it did wait for the reply, up to the timeout
  EXPECT_LT(took, c.commandTimeout + 2s);
  ASSERT_FALSE(second.ok());
  EXPECT_LT(tookAgain, 150ms);  // well under one command timeout: no network wait
}

// A value larger than the socket buffers, sent to a hung Redis, times out too: the send side has
// a timeout as well as the receive side.
TEST_F(RedisStoreTest, LargeInsertToPausedRedisTimesOut) {
  RedisStoreConfig c = config();
  c.commandTimeout = 100ms;
  c.connections = 1;
  c.maxObjectSize = 64 << 20;
  auto store = makeStore(c);
  ASSERT_TRUE(store->insert(makeEntry("https://p.test/small", "", "max-age=60", "")).ok());
  const EntryPtr big =
      makeEntry("https://p.test/big", "", "max-age=60", std::string(32 << 20, 'b'));
  server_.pause();
  const auto start = std::chrono::steady_clock::now();
  const Status s = store->insert(big);
  const auto took = std::chrono::steady_clock::now() - start;
  server_.resume();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(took, 1s);
}

// After a restart the store comes back by itself, but only once the retry interval has passed.
TEST_F(RedisStoreTest, RecoversAfterRestartOnceTheRetryIntervalHasPassed) {
  RedisStoreConfig c = config();
  c.retryInterval = 2s;
  auto store = makeStore(c);
  const std::string uri = "https://rec.test/";
  ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", "before")).ok());
  server_.kill();
  EXPECT_FALSE(store->lookup(uri).ok());
  server_.start();  // same port, empty data

  now_ += 1s;
  EXPECT_FALSE(store->lookup(uri).ok()) << "within the retry interval";
  EXPECT_TRUE(store->degraded());
  now_ += 1s;
  EXPECT_FALSE(store->degraded());
  Result<VariantsPtr> found = store->lookup(uri);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found.value(), nullptr);  // the new Redis is empty
  ASSERT_TRUE(store->insert(makeEntry(uri, "", "max-age=60", "after")).ok());
  EXPECT_EQ(bodyOf(store->lookup(uri).value()->front()), "after");
}

// A SCRIPT FLUSH behind the store's back is repaired on the spot (NOSCRIPT: load, run again).
TEST_F(RedisStoreTest, ReloadsScriptsAfterScriptFlush) {
  auto store = makeStore();
  ASSERT_TRUE(store->insert(makeEntry("https://s.test/1", "", "max-age=60", "")).ok());
  Array flush;
  flush << "SCRIPT"
        << "FLUSH";
  raw().execute<std::string>(flush);
  EXPECT_TRUE(store->insert(makeEntry("https://s.test/2", "", "max-age=60", "")).ok());
  EXPECT_EQ(store->erase("https://s.test/1").value(), 1u);
  EXPECT_FALSE(store->degraded());
}

// Many threads on few connections: every call succeeds and sees its own writes.
TEST_F(RedisStoreTest, ConcurrentCallsShareConnections) {
  auto store = makeStore();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string uri = "https://mt.test/" + std::to_string(t) + "/" + std::to_string(i);
        if (!store->insert(makeEntry(uri, "", "max-age=60", uri)).ok()) {
          ++failures;
        }
        Result<VariantsPtr> found = store->lookup(uri);
        if (!found.ok() || found.value() == nullptr || bodyOf(found.value()->front()) != uri) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->stats().hits, 400u);
}

// Configuration errors name the field in snake_case.
TEST(RedisStoreConfigTest, ErrorsNameTheField) {
  const auto messageFor = [](RedisStoreConfig c) {
    auto made = RedisStore::make(c);
    return made.ok() ? std::string("ok") : made.error().message;
  };
  RedisStoreConfig c;
  c.port = 0;
  EXPECT_EQ(messageFor(c), "cache.redis.port: must be in [1, 65535] (got 0)");
  c = {};
  c.connections = 0;
  EXPECT_EQ(messageFor(c), "cache.redis.connections: must be in [1, 256] (got 0)");
  c = {};
  c.commandTimeout = 0ms;
  EXPECT_EQ(messageFor(c).rfind("cache.redis.command_timeout:", 0), 0u);
  c = {};
  c.keyPrefix.clear();
  EXPECT_EQ(messageFor(c), "cache.redis.key_prefix: must not be empty");
  c = {};
  c.maxTtl = 0s;
  EXPECT_EQ(messageFor(c).rfind("cache.redis.max_ttl:", 0), 0u);
  c = {};
  c.maxVariants = 0;
  EXPECT_EQ(messageFor(c), "cache.redis.max_variants: must be in [1, 1024] (got 0)");
  c = {};
  c.clock = nullptr;
  EXPECT_EQ(messageFor(c), "cache.redis.clock: must be set");
  c = {};
  c.freshness.maxSize = 0;
  EXPECT_EQ(messageFor(c).rfind("cache.max_size:", 0), 0u);
  EXPECT_EQ(messageFor(RedisStoreConfig{}), "ok");
}

}  // namespace
}  // namespace fairway::cache::redis
