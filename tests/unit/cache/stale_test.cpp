// RFC 9111 §4.2.4 serving stale; RFC 5861 stale-while-revalidate and stale-if-error.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

const Response kSwr =
    ok({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}, {"ETag", "\"v1\""}}, "old");
const Response kSie =
    ok({{"Cache-Control", "max-age=60, stale-if-error=300"}, {"ETag", "\"v1\""}}, "old");
const Response kUnavailable = response(503, {}, "down");

// §4.2.4: by default a stale response is not served; it is validated first.
TEST(Stale, Rfc9111_4_2_4_StaleIsNotServedByDefault) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}}));
  EXPECT_EQ(cache->lookup(get(), at(61s)).action, Lookup::Action::kRevalidate);
}

// RFC 5861 §3: within the stale-while-revalidate window the stale response is served at once and
// revalidated in the background; the background response updates the cache.
TEST(Stale, Rfc5861_3_StaleWhileRevalidateServesAndRevalidates) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSwr);
  Lookup l = cache->lookup(get(), at(80s));
  ASSERT_EQ(l.action, Lookup::Action::kServe);
  EXPECT_TRUE(l.stale);
  EXPECT_EQ(bodyOf(l.response), "old");
  ASSERT_TRUE(l.revalidateInBackground);
  EXPECT_EQ(l.upstream.headers.first("If-None-Match"), "\"v1\"");
  (void)cache->complete(l, get(), ok({{"Cache-Control", "max-age=60"}}, "new"), at(80s).wall,
                        at(81s));
  const Exchange after = fetch(*cache, get(), at(82s), {});
  EXPECT_EQ(after.action, Lookup::Action::kServe);
  EXPECT_FALSE(cache->lookup(get(), at(82s)).stale);
  EXPECT_EQ(bodyOf(after.response), "new");
}

// RFC 5861 §3: one background revalidation per URI at a time; the others just get stale.
TEST(Stale, Rfc5861_3_OneBackgroundRevalidationAtATime) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSwr);
  Lookup first = cache->lookup(get(), at(70s));
  Lookup second = cache->lookup(get(), at(71s));
  EXPECT_TRUE(first.revalidateInBackground);
  EXPECT_EQ(second.action, Lookup::Action::kServe);
  EXPECT_FALSE(second.revalidateInBackground);
  (void)cache->complete(first, get(), response(304, {{"ETag", "\"v1\""}}), at(70s).wall, at(72s));
  EXPECT_FALSE(cache->lookup(get(), at(73s)).stale);
}

// RFC 5861 §3: past the window, the response must be validated before use.
TEST(Stale, Rfc5861_3_PastTheWindowRevalidates) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSwr);
  EXPECT_EQ(cache->lookup(get(), at(90s)).action, Lookup::Action::kServe);
  EXPECT_EQ(cache->lookup(get(), at(91s)).action, Lookup::Action::kRevalidate);
}

// §4.2.4: must-revalidate (or s-maxage, proxy-revalidate) rules out stale-while-revalidate.
TEST(Stale, Rfc9111_4_2_4_MustRevalidateForbidsStaleWhileRevalidate) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s),
        ok({{"Cache-Control", "max-age=60, stale-while-revalidate=30, must-revalidate"},
            {"ETag", "\"v1\""}}));
  EXPECT_EQ(cache->lookup(get(), at(70s)).action, Lookup::Action::kRevalidate);
}

// RFC 5861 §4: a server error within the stale-if-error window is answered with the stale
// response.
TEST(Stale, Rfc5861_4_StaleIfErrorOnServerError) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSie);
  const Exchange x = fetch(*cache, get(), at(200s), kUnavailable);
  EXPECT_EQ(x.action, Lookup::Action::kRevalidate);
  EXPECT_EQ(x.response.status, 200);
  EXPECT_EQ(bodyOf(x.response), "old");
  EXPECT_EQ(x.response.headers.first("Age"), "200");
}

// RFC 5861 §4: the same when the upstream cannot be reached at all.
TEST(Stale, Rfc5861_4_StaleIfErrorWhenUnreachable) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSie);
  const Exchange x = fetch(*cache, get(), at(200s), std::nullopt);
  EXPECT_EQ(bodyOf(x.response), "old");
}

// RFC 5861 §4: past the window the error goes to the client.
TEST(Stale, Rfc5861_4_PastTheWindowTheErrorPassesThrough) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kSie);
  EXPECT_EQ(fetch(*cache, get(), at(361s), kUnavailable).response.status, 503);
  // Only 500, 502, 503 and 504 count as errors.
  auto other = makeCacheOrDie();
  fetch(*other, get(), at(0s), kSie);
  EXPECT_EQ(fetch(*other, get(), at(100s), response(404, {})).response.status, 404);
}

// RFC 5861 §4: stale-if-error can come from the request too.
TEST(Stale, Rfc5861_4_RequestStaleIfError) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}}, "old"));
  const Request req = get(kUri, {{"Cache-Control", "stale-if-error=100"}});
  EXPECT_EQ(bodyOf(fetch(*cache, req, at(150s), kUnavailable).response), "old");
  EXPECT_EQ(fetch(*cache, req, at(170s), kUnavailable).response.status, 503);
}

// §4.2.4, §5.2.2.2: must-revalidate forbids serving stale on error.
TEST(Stale, Rfc9111_5_2_2_2_MustRevalidateForbidsStaleIfError) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s),
        ok({{"Cache-Control", "max-age=60, stale-if-error=300, must-revalidate"},
            {"ETag", "\"v1\""}}));
  EXPECT_EQ(fetch(*cache, get(), at(100s), kUnavailable).response.status, 503);
}

// §4.2.4: cache.stale_if_error lets the cache serve stale when the origin is down, without any
// directive (off by default).
TEST(Stale, Rfc9111_4_2_4_ConfiguredStaleIfError) {
  Config config = smallConfig();
  config.staleIfError = 600s;
  auto cache = makeCacheOrDie(config);
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=60"}}, "old"));
  EXPECT_EQ(bodyOf(fetch(*cache, get(), at(300s), std::nullopt).response), "old");
  auto strict = makeCacheOrDie();
  fetch(*strict, get(), at(0s), ok({{"Cache-Control", "max-age=60"}}, "old"));
  EXPECT_EQ(fetch(*strict, get(), at(300s), std::nullopt).response.status, 502);
}

}  // namespace
}  // namespace fairway::cache
