// RFC 9111 §3 (with §3.1, §3.5, §5.2.2): what a shared cache may store.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

Storability storable(const Request& req, const Response& r) {
  return Policy().storability(req, r);
}

// §3: a plain 200 to a GET is heuristically cacheable, so storable without any directive.
TEST(Storability, Rfc9111_3_PlainGet200IsStorable) {
  EXPECT_EQ(storable(get(), ok({})), Storability::kStorable);
}

// §3: the method must be understood and cacheable: POST, PUT and HEAD responses are not stored
// (HEAD is answered from a stored GET instead).
TEST(Storability, Rfc9111_3_OnlyGetResponsesAreStored) {
  const Response r = ok({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(storable(request("POST"), r), Storability::kMethod);
  EXPECT_EQ(storable(request("PUT"), r), Storability::kMethod);
  EXPECT_EQ(storable(request("HEAD"), r), Storability::kMethod);
}

// RFC 9110 §15.1: the statuses cacheable by default need no explicit freshness.
TEST(Storability, Rfc9110_15_1_HeuristicallyCacheableStatuses) {
  for (int status : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    EXPECT_EQ(storable(get(), response(status, {})), Storability::kStorable) << status;
  }
  for (int status : {201, 202, 302, 303, 307, 400, 403, 500, 502, 503}) {
    EXPECT_EQ(storable(get(), response(status, {})), Storability::kNotCacheable) << status;
  }
}

// §3: other statuses are stored when explicit freshness information allows it.
TEST(Storability, Rfc9111_3_ExplicitFreshnessMakesOtherStatusesStorable) {
  EXPECT_EQ(storable(get(), response(302, {{"Cache-Control", "max-age=60"}})),
            Storability::kStorable);
  EXPECT_EQ(storable(get(), response(307, {{"Expires", httpDate(60s)}})), Storability::kStorable);
  EXPECT_EQ(storable(get(), response(500, {{"Cache-Control", "s-maxage=5"}})),
            Storability::kStorable);
  EXPECT_EQ(storable(get(), response(403, {{"Cache-Control", "public"}})), Storability::kStorable);
}

// §3: non-final, partial (206: ranges are not combined here) and 304 responses are not stored.
TEST(Storability, Rfc9111_3_PartialAndNotModifiedAreNotStored) {
  EXPECT_EQ(storable(get(), response(206, {{"Cache-Control", "max-age=60"}})),
            Storability::kStatus);
  EXPECT_EQ(storable(get(), response(304, {{"Cache-Control", "max-age=60"}})),
            Storability::kStatus);
  EXPECT_EQ(storable(get(), response(100, {})), Storability::kStatus);
}

// §5.2.2.5: no-store in the response.
TEST(Storability, Rfc9111_5_2_2_5_NoStoreResponseIsNotStored) {
  EXPECT_EQ(storable(get(), ok({{"Cache-Control", "max-age=60, no-store"}})),
            Storability::kNoStore);
  EXPECT_EQ(storable(get(), ok({{"cache-control", "NO-STORE"}})), Storability::kNoStore);
}

// §5.2.1.5: no-store in the request.
TEST(Storability, Rfc9111_5_2_1_5_NoStoreRequestIsNotStored) {
  EXPECT_EQ(storable(get(kUri, {{"Cache-Control", "no-store"}}), ok({})),
            Storability::kRequestNoStore);
}

// §5.2.2.7: a shared cache must not store a private response.
TEST(Storability, Rfc9111_5_2_2_7_PrivateIsNotStoredBySharedCache) {
  EXPECT_EQ(storable(get(), ok({{"Cache-Control", "private, max-age=60"}})), Storability::kPrivate);
}

// §5.2.2.7: private="field" stores the response without that field.
TEST(Storability, Rfc9111_5_2_2_7_QualifiedPrivateStripsTheNamedFields) {
  const Response r = ok({{"Cache-Control", "private=\"Set-Cookie, X-User\", max-age=60"},
                         {"Set-Cookie", "id=1"},
                         {"X-User", "alice"},
                         {"X-Other", "kept"}});
  auto entry = Policy().makeEntry(get(), r, w0, w0);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->response().headers.contains("Set-Cookie"));
  EXPECT_FALSE(entry->response().headers.contains("X-User"));
  EXPECT_TRUE(entry->response().headers.contains("X-Other"));
}

// §3.5: a response to a request with Authorization is stored only with must-revalidate, public
// or s-maxage.
TEST(Storability, Rfc9111_3_5_AuthorizedRequestsNeedExplicitPermission) {
  const Request authorized = get(kUri, {{"Authorization", "Bearer x"}});
  EXPECT_EQ(storable(authorized, ok({{"Cache-Control", "max-age=60"}})),
            Storability::kAuthorization);
  EXPECT_EQ(storable(authorized, ok({{"Cache-Control", "public, max-age=60"}})),
            Storability::kStorable);
  EXPECT_EQ(storable(authorized, ok({{"Cache-Control", "s-maxage=60"}})), Storability::kStorable);
  EXPECT_EQ(storable(authorized, ok({{"Cache-Control", "must-revalidate, max-age=60"}})),
            Storability::kStorable);
}

// §4.1: Vary: * can never be matched, so it is not stored.
TEST(Storability, Rfc9111_4_1_VaryStarIsNotStored) {
  EXPECT_EQ(storable(get(), ok({{"Vary", "Accept, *"}})), Storability::kVaryStar);
}

// Set-Cookie: passed through by default (one client's cookie must not reach the others), stored
// when Config::storeSetCookie says so.
TEST(Storability, SetCookieIsNotStoredByDefault) {
  const Response r = ok({{"Cache-Control", "public, max-age=60"}, {"Set-Cookie", "id=42"}});
  EXPECT_EQ(storable(get(), r), Storability::kSetCookie);
  Config config;
  config.storeSetCookie = true;
  EXPECT_EQ(Policy(config).storability(get(), r), Storability::kStorable);
  EXPECT_EQ(storable(get(), ok({{"Cache-Control", "max-age=60"}})), Storability::kStorable);
}

// Storable by the RFC but never usable — no freshness, no validator, no stale allowance — so not
// stored: it would only push useful entries out. Any one of the three makes it worth storing.
TEST(Storability, UnusableResponsesAreNotStored) {
  auto cache = makeCacheOrDie();
  const auto stored = [&](const std::string& uri, const Response& r) {
    fetch(*cache, get(uri), at(0s), r);
    return cache->store().stats().entries;
  };
  EXPECT_EQ(stored("https://example.com/plain", ok({})), 0u);
  EXPECT_EQ(stored("https://example.com/zero", ok({{"Cache-Control", "max-age=0"}})), 0u);
  EXPECT_EQ(stored("https://example.com/old", ok({{"Cache-Control", "max-age=60"}, {"Age", "90"}})),
            0u);
  EXPECT_EQ(
      stored("https://example.com/etag", ok({{"Cache-Control", "max-age=0"}, {"ETag", "\"x\""}})),
      1u);
  EXPECT_EQ(stored("https://example.com/swr",
                   ok({{"Cache-Control", "max-age=0, stale-while-revalidate=60"}})),
            2u);
  EXPECT_EQ(stored("https://example.com/fresh", ok({{"Cache-Control", "max-age=60"}})), 3u);
  EXPECT_EQ(cache->stats().stores, 3u);
  Config withSie = smallConfig();
  withSie.staleIfError = std::chrono::seconds(60);
  auto sie = makeCacheOrDie(withSie);
  fetch(*sie, get(), at(0s), ok({}));
  EXPECT_EQ(sie->store().stats().entries, 1u) << "cache.stale_if_error can use it";
}

// §5.2.2.3: must-understand with an understood status overrides no-store; with an unknown status
// the response is not stored.
TEST(Storability, Rfc9111_5_2_2_3_MustUnderstand) {
  EXPECT_EQ(storable(get(), ok({{"Cache-Control", "must-understand, no-store, max-age=60"}})),
            Storability::kStorable);
  EXPECT_EQ(storable(get(), response(299, {{"Cache-Control", "must-understand, max-age=60"}})),
            Storability::kStatus);
}

// §3.1: hop-by-hop fields, and the fields Connection names, are not stored.
TEST(Storability, Rfc9111_3_1_HopByHopFieldsAreNotStored) {
  const Response r = ok({{"Connection", "close, X-Hop"},
                         {"Keep-Alive", "timeout=5"},
                         {"Transfer-Encoding", "chunked"},
                         {"Upgrade", "h2c"},
                         {"Proxy-Authenticate", "Basic"},
                         {"X-Hop", "1"},
                         {"X-End-To-End", "1"}});
  auto entry = Policy().makeEntry(get(), r, w0, w0);
  ASSERT_TRUE(entry);
  const Headers& h = entry->response().headers;
  for (const char* name : {"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade",
                           "Proxy-Authenticate", "X-Hop"}) {
    EXPECT_FALSE(h.contains(name)) << name;
  }
  EXPECT_TRUE(h.contains("X-End-To-End"));
}

// RFC 9110 §6.6.1: a cache adds a Date to a stored response that lacks one (the response time).
TEST(Storability, Rfc9110_6_6_1_MissingDateIsAddedOnStore) {
  Response r = ok({});
  r.headers.erase("Date");
  auto entry = Policy().makeEntry(get(), r, w0 + 5s, w0 + 7s);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->response().headers.first("Date"), httpDate(7s));
}

// A response too large for cache.max_object_size is passed through, not stored.
TEST(Storability, MaxObjectSizeIsPassedThrough) {
  Config config = smallConfig();
  config.maxObjectSize = 1000;
  auto cache = makeCacheOrDie(config);
  const Response big = ok({{"Cache-Control", "max-age=60"}}, std::string(2000, 'x'));
  EXPECT_EQ(fetch(*cache, get(), at(0s), big).action, Lookup::Action::kForward);
  EXPECT_EQ(fetch(*cache, get(), at(1s), big).action, Lookup::Action::kForward);
  EXPECT_EQ(cache->stats().stores, 0u);
}

// End to end: a storable response is served from the cache the second time.
TEST(Storability, StoredResponseIsServedFromCache) {
  auto cache = makeCacheOrDie();
  const Response origin = ok({{"Cache-Control", "max-age=60"}}, "hello");
  EXPECT_EQ(fetch(*cache, get(), at(0s), origin).action, Lookup::Action::kForward);
  const Exchange second = fetch(*cache, get(), at(10s), std::nullopt);
  EXPECT_EQ(second.action, Lookup::Action::kServe);
  EXPECT_EQ(bodyOf(second.response), "hello");
}

// RFC 9110 §9.3.2, RFC 9111 §4: a HEAD is answered from a stored GET response, without its body.
TEST(Storability, Rfc9110_9_3_2_HeadIsAnsweredFromStoredGet) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s),
        ok({{"Cache-Control", "max-age=60"}, {"Content-Length", "5"}}, "hello"));
  const Exchange head = fetch(*cache, request("HEAD"), at(1s), std::nullopt);
  ASSERT_EQ(head.action, Lookup::Action::kServe);
  EXPECT_EQ(head.response.body, nullptr);
  EXPECT_EQ(head.response.headers.first("Content-Length"), "5");
}

// A HEAD miss is forwarded as a HEAD and its response not stored.
TEST(Storability, Rfc9111_3_HeadMissIsNotStored) {
  auto cache = makeCacheOrDie();
  const Exchange x =
      fetch(*cache, request("HEAD"), at(0s), ok({{"Cache-Control", "max-age=60"}}, ""));
  ASSERT_EQ(x.action, Lookup::Action::kForward);
  EXPECT_EQ(x.upstream->method, "HEAD");
  EXPECT_EQ(fetch(*cache, get(), at(1s), ok({})).action, Lookup::Action::kForward);
}

}  // namespace
}  // namespace fairway::cache
