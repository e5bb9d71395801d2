// RFC 9111 §4.4: unsafe methods invalidate the target URI and same-origin Location /
// Content-Location.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

const Response kCacheable = ok({{"Cache-Control", "max-age=600"}});

// Stores a response for each of `uris`.
void warm(Cache& cache, std::initializer_list<const char*> uris) {
  for (const char* uri : uris) {
    fetch(cache, get(uri), at(0s), kCacheable);
  }
}

bool cached(Cache& cache, const char* uri) {
  return fetch(cache, get(uri), at(1s), std::nullopt).action == Lookup::Action::kServe;
}

// §4.4: a non-error response to an unsafe method invalidates the target URI.
TEST(Invalidation, Rfc9111_4_4_UnsafeMethodInvalidatesTarget) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "PURGE"}) {
    auto cache = makeCacheOrDie();
    warm(*cache, {kUri});
    const Exchange x = fetch(*cache, request(method), at(1s), response(204, {}));
    EXPECT_EQ(x.action, Lookup::Action::kForward) << method;
    EXPECT_FALSE(cached(*cache, kUri)) << method;
  }
}

// §4.4: only 2xx and 3xx invalidate; an error leaves the stored response alone.
TEST(Invalidation, Rfc9111_4_4_ErrorResponsesDoNotInvalidate) {
  auto cache = makeCacheOrDie();
  warm(*cache, {kUri});
  fetch(*cache, request("POST"), at(1s), response(500, {}));
  fetch(*cache, request("DELETE"), at(1s), response(404, {}));
  EXPECT_TRUE(cached(*cache, kUri));
  fetch(*cache, request("POST"), at(1s), response(303, {}));
  EXPECT_FALSE(cached(*cache, kUri));
}

// §4.4: Location and Content-Location are invalidated too, when on the same origin (absolute or
// relative references alike).
TEST(Invalidation, Rfc9111_4_4_LocationAndContentLocationSameOrigin) {
  auto cache = makeCacheOrDie();
  warm(*cache, {kUri, "https://example.com/new", "https://example.com/dir/rel"});
  fetch(*cache, request("POST", "https://example.com/dir/form"), at(1s),
        response(201, {{"Location", "https://EXAMPLE.com/new"}, {"Content-Location", "rel"}}));
  EXPECT_FALSE(cached(*cache, "https://example.com/new"));
  EXPECT_FALSE(cached(*cache, "https://example.com/dir/rel"));
  EXPECT_TRUE(cached(*cache, kUri));
}

// §4.4: URIs on another origin are not invalidated (that would let one origin purge another).
TEST(Invalidation, Rfc9111_4_4_OtherOriginsAreNotInvalidated) {
  const auto targets = Policy::invalidationTargets(
      request("POST"), response(201, {{"Location", "https://other.example/x"},
                                      {"Content-Location", "http://example.com/a"}}));
  EXPECT_EQ(targets, (std::vector<std::string>{kUri}));
}

// §4.4: safe methods never invalidate.
TEST(Invalidation, Rfc9111_4_4_SafeMethodsDoNotInvalidate) {
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    EXPECT_TRUE(Policy::invalidationTargets(request(method), response(200, {})).empty());
  }
}

// Unsafe requests are never answered from the cache, even with a fresh response stored.
TEST(Invalidation, Rfc9111_4_UnsafeRequestsGoThrough) {
  auto cache = makeCacheOrDie();
  warm(*cache, {kUri});
  EXPECT_EQ(cache->lookup(request("POST"), at(1s)).action, Lookup::Action::kForward);
  EXPECT_EQ(cache->stats().passes, 1u);
}

// Invalidation removes every Vary variant under the URI.
TEST(Invalidation, Rfc9111_4_4_AllVariantsGo) {
  auto cache = makeCacheOrDie();
  const Response varied = ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept"}});
  fetch(*cache, get(kUri, {{"Accept", "a"}}), at(0s), varied);
  fetch(*cache, get(kUri, {{"Accept", "b"}}), at(0s), varied);
  EXPECT_EQ(cache->store().stats().entries, 2u);
  fetch(*cache, request("PUT"), at(1s), response(200, {}));
  EXPECT_EQ(cache->store().stats().entries, 0u);
  EXPECT_EQ(cache->stats().invalidations, 2u);
}

}  // namespace
}  // namespace fairway::cache
