// Purge: by URI (every variant), by URI prefix, and by tag (Surrogate-Key).

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

Response tagged(const char* keys) {
  return ok({{"Cache-Control", "max-age=600"}, {"Surrogate-Key", keys}});
}

bool cached(Cache& cache, const std::string& uri, Headers headers = {}) {
  return cache.lookup(get(uri, std::move(headers)), at(1s)).action == Lookup::Action::kServe;
}

// Purge by URI removes every variant stored under it.
TEST(Purge, ByUriRemovesEveryVariant) {
  auto cache = makeCacheOrDie();
  const Response varied = ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept"}});
  fetch(*cache, get(kUri, {{"Accept", "a"}}), at(0s), varied);
  fetch(*cache, get(kUri, {{"Accept", "b"}}), at(0s), varied);
  fetch(*cache, get("https://example.com/b"), at(0s), varied);
  auto purged = cache->purge(kUri);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged.value(), 2u);
  EXPECT_FALSE(cached(*cache, kUri, {{"Accept", "a"}}));
  EXPECT_TRUE(cached(*cache, "https://example.com/b"));
  EXPECT_EQ(cache->purge(kUri).value(), 0u);
}

// Purge by prefix removes every URI that starts with it, across shards.
TEST(Purge, ByPrefix) {
  Config config = smallConfig();
  config.shards = 4;
  auto cache = makeCacheOrDie(config);
  for (int i = 0; i < 20; ++i) {
    fetch(*cache, get("https://example.com/img/" + std::to_string(i)), at(0s), tagged("x"));
    fetch(*cache, get("https://example.com/css/" + std::to_string(i)), at(0s), tagged("x"));
  }
  EXPECT_EQ(cache->purgePrefix("https://example.com/img/").value(), 20u);
  EXPECT_FALSE(cached(*cache, "https://example.com/img/3"));
  EXPECT_TRUE(cached(*cache, "https://example.com/css/3"));
}

// Purge by tag removes the responses whose Surrogate-Key lists it (members separated by spaces).
TEST(Purge, ByTag) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get("https://example.com/p1"), at(0s), tagged("product-1 catalog"));
  fetch(*cache, get("https://example.com/p2"), at(0s), tagged("product-2  catalog"));
  fetch(*cache, get("https://example.com/home"), at(0s), tagged("home"));
  EXPECT_EQ(cache->purgeTag("product-1").value(), 1u);
  EXPECT_FALSE(cached(*cache, "https://example.com/p1"));
  EXPECT_TRUE(cached(*cache, "https://example.com/p2"));
  EXPECT_EQ(cache->purgeTag("catalog").value(), 1u);
  EXPECT_FALSE(cached(*cache, "https://example.com/p2"));
  EXPECT_TRUE(cached(*cache, "https://example.com/home"));
  EXPECT_EQ(cache->purgeTag("nothing").value(), 0u);
}

// A tag purge removes only the tagged variants of a URI, not their untagged siblings.
TEST(Purge, ByTagKeepsUntaggedVariants) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(kUri, {{"Accept", "a"}}), at(0s),
        ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept"}, {"Surrogate-Key", "t"}}));
  fetch(*cache, get(kUri, {{"Accept", "b"}}), at(0s),
        ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept"}}));
  EXPECT_EQ(cache->purgeTag("t").value(), 1u);
  EXPECT_FALSE(cached(*cache, kUri, {{"Accept", "a"}}));
  EXPECT_TRUE(cached(*cache, kUri, {{"Accept", "b"}}));
}

// Tags follow the stored response: a replacement without the tag is not purged by it.
TEST(Purge, TagsFollowReplacements) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), tagged("old"));
  cache->purge(kUri).value();
  fetch(*cache, get(), at(0s), tagged("new"));
  EXPECT_EQ(cache->purgeTag("old").value(), 0u);
  EXPECT_EQ(cache->purgeTag("new").value(), 1u);
}

// The tag header is configurable (cache.tag_header), and can be turned off.
TEST(Purge, TagHeaderIsConfigurable) {
  Config config = smallConfig();
  config.tagHeader = "Cache-Tag";
  auto cache = makeCacheOrDie(config);
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=600"}, {"Cache-Tag", "a,b"}}));
  EXPECT_EQ(cache->purgeTag("b").value(), 1u);
  config.tagHeader = "";
  auto untagged = makeCacheOrDie(config);
  fetch(*untagged, get(), at(0s), ok({{"Cache-Control", "max-age=600"}, {"Cache-Tag", "a"}}));
  EXPECT_EQ(untagged->purgeTag("a").value(), 0u);
}

}  // namespace
}  // namespace fairway::cache
