// RFC 9111 §5.2.1 request directives, and §5.4 Pragma.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

// A response fresh for 60 s, with a validator, stored at t0.
std::unique_ptr<Cache> cacheWith(const Response& r = ok({{"Cache-Control", "max-age=60"},
                                                         {"ETag", "\"v1\""}})) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), r);
  return cache;
}

Lookup::Action actionAt(Cache& cache, std::chrono::seconds when, Headers requestHeaders) {
  return cache.lookup(get(kUri, std::move(requestHeaders)), at(when)).action;
}

// §5.2.1.1: max-age: nothing older than that many seconds.
TEST(RequestDirectives, Rfc9111_5_2_1_1_MaxAge) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 10s, {{"Cache-Control", "max-age=10"}}), Lookup::Action::kServe);
  EXPECT_EQ(actionAt(*cache, 11s, {{"Cache-Control", "max-age=10"}}), Lookup::Action::kRevalidate);
}

// §5.2.1.1: max-age=0 forces validation.
TEST(RequestDirectives, Rfc9111_5_2_1_1_MaxAgeZeroRevalidates) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 1s, {{"Cache-Control", "max-age=0"}}), Lookup::Action::kRevalidate);
}

// §5.2.1.2: max-stale=N accepts a response stale by at most N seconds.
TEST(RequestDirectives, Rfc9111_5_2_1_2_MaxStaleWithLimit) {
  auto cache = cacheWith();
  Lookup l = cache->lookup(get(kUri, {{"Cache-Control", "max-stale=30"}}), at(90s));
  EXPECT_EQ(l.action, Lookup::Action::kServe);
  EXPECT_TRUE(l.stale);
  EXPECT_EQ(actionAt(*cache, 91s, {{"Cache-Control", "max-stale=30"}}),
            Lookup::Action::kRevalidate);
}

// §5.2.1.2: max-stale without a value accepts any staleness.
TEST(RequestDirectives, Rfc9111_5_2_1_2_MaxStaleWithoutValue) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 100000s, {{"Cache-Control", "max-stale"}}), Lookup::Action::kServe);
}

// §4.2.4, §5.2.2.2: max-stale cannot override must-revalidate (nor s-maxage).
TEST(RequestDirectives, Rfc9111_5_2_2_2_MaxStaleDoesNotOverrideMustRevalidate) {
  auto cache = cacheWith(ok({{"Cache-Control", "max-age=60, must-revalidate"}, {"ETag", "\"v\""}}));
  EXPECT_EQ(actionAt(*cache, 61s, {{"Cache-Control", "max-stale"}}), Lookup::Action::kRevalidate);
  auto shared = cacheWith(ok({{"Cache-Control", "s-maxage=60"}, {"ETag", "\"v\""}}));
  EXPECT_EQ(actionAt(*shared, 61s, {{"Cache-Control", "max-stale"}}), Lookup::Action::kRevalidate);
}

// §5.2.1.3: min-fresh: still fresh for at least N more seconds.
TEST(RequestDirectives, Rfc9111_5_2_1_3_MinFresh) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 40s, {{"Cache-Control", "min-fresh=20"}}), Lookup::Action::kServe);
  EXPECT_EQ(actionAt(*cache, 41s, {{"Cache-Control", "min-fresh=20"}}),
            Lookup::Action::kRevalidate);
}

// §5.2.1.4: no-cache: validate even a fresh response.
TEST(RequestDirectives, Rfc9111_5_2_1_4_NoCacheRevalidates) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 1s, {{"Cache-Control", "no-cache"}}), Lookup::Action::kRevalidate);
}

// §5.4: Pragma: no-cache counts as Cache-Control: no-cache only when Cache-Control is absent.
TEST(RequestDirectives, Rfc9111_5_4_PragmaNoCache) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 1s, {{"Pragma", "no-cache"}}), Lookup::Action::kRevalidate);
  EXPECT_EQ(actionAt(*cache, 1s, {{"Pragma", "no-cache"}, {"Cache-Control", "max-age=100"}}),
            Lookup::Action::kServe);
}

// §5.2.1.5: no-store: the cache may answer from what it has, but stores nothing of this exchange.
TEST(RequestDirectives, Rfc9111_5_2_1_5_NoStore) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 1s, {{"Cache-Control", "no-store"}}), Lookup::Action::kServe);
  const Request other = get("https://example.com/other", {{"Cache-Control", "no-store"}});
  fetch(*cache, other, at(2s), ok({{"Cache-Control", "max-age=60"}}));
  EXPECT_EQ(fetch(*cache, get("https://example.com/other"), at(3s), ok({})).action,
            Lookup::Action::kForward);
}

// §5.2.1.7: only-if-cached: a 504 when nothing usable is stored, the stored response otherwise.
TEST(RequestDirectives, Rfc9111_5_2_1_7_OnlyIfCached) {
  auto cache = cacheWith();
  Lookup miss =
      cache->lookup(get("https://example.com/none", {{"Cache-Control", "only-if-cached"}}), at(1s));
  EXPECT_EQ(miss.action, Lookup::Action::kGatewayTimeout);
  EXPECT_EQ(miss.response.status, 504);
  EXPECT_EQ(actionAt(*cache, 1s, {{"Cache-Control", "only-if-cached"}}), Lookup::Action::kServe);
  EXPECT_EQ(actionAt(*cache, 61s, {{"Cache-Control", "only-if-cached"}}),
            Lookup::Action::kGatewayTimeout);
  EXPECT_EQ(actionAt(*cache, 61s, {{"Cache-Control", "only-if-cached, max-stale"}}),
            Lookup::Action::kServe);
}

// §1.2.2 / §5.2.1: a directive whose argument is not delta-seconds is ignored.
TEST(RequestDirectives, Rfc9111_5_2_1_InvalidArgumentsAreIgnored) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 30s, {{"Cache-Control", "max-age=soon"}}), Lookup::Action::kServe);
  EXPECT_EQ(actionAt(*cache, 90s, {{"Cache-Control", "max-stale=-1"}}),
            Lookup::Action::kRevalidate);
  EXPECT_EQ(actionAt(*cache, 30s, {{"Cache-Control", "min-fresh=x"}}), Lookup::Action::kServe);
}

// §5.2: directive names are case-insensitive, and the first of duplicates is used.
TEST(RequestDirectives, Rfc9111_5_2_CaseAndDuplicates) {
  auto cache = cacheWith();
  EXPECT_EQ(actionAt(*cache, 20s, {{"cache-control", "MAX-AGE=10"}}), Lookup::Action::kRevalidate);
  EXPECT_EQ(actionAt(*cache, 20s, {{"Cache-Control", "max-age=30, max-age=10"}}),
            Lookup::Action::kServe);
}

}  // namespace
}  // namespace fairway::cache
