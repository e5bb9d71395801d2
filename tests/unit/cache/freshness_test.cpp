// RFC 9111 §4.2.1, §4.2.2: freshness lifetime; §4.2: fresh or stale.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

std::chrono::seconds lifetime(const Response& r, const Config& config = {}) {
  return Policy(config).freshnessLifetime(*entryFor(r));
}

// §4.2.1: a shared cache uses s-maxage before max-age.
TEST(Freshness, Rfc9111_4_2_1_SMaxAgeWinsOverMaxAge) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=60, s-maxage=300"}})), 300s);
}

// §4.2.1: max-age before Expires.
TEST(Freshness, Rfc9111_4_2_1_MaxAgeWinsOverExpires) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=60"}, {"Expires", httpDate(3600s)}})), 60s);
}

// §4.2.1: without max-age, Expires − Date.
TEST(Freshness, Rfc9111_4_2_1_ExpiresMinusDate) {
  EXPECT_EQ(lifetime(ok({{"Date", httpDate(-100s)}, {"Expires", httpDate(200s)}})), 300s);
}

// §4.2.1: an Expires at or before Date means already stale.
TEST(Freshness, Rfc9111_4_2_1_ExpiresBeforeDateIsZero) {
  EXPECT_EQ(lifetime(ok({{"Expires", httpDate(-10s)}})), 0s);
}

// §5.3: an invalid Expires, "0" in particular, is in the past.
TEST(Freshness, Rfc9111_5_3_InvalidExpiresIsAlreadyExpired) {
  EXPECT_EQ(lifetime(ok({{"Expires", "0"}})), 0s);
  EXPECT_EQ(lifetime(ok({{"Expires", "tomorrow"}})), 0s);
  // ... but max-age still overrides it.
  EXPECT_EQ(lifetime(ok({{"Expires", "0"}, {"Cache-Control", "max-age=30"}})), 30s);
}

// §4.2.2: heuristic freshness, 10% of Date − Last-Modified.
TEST(Freshness, Rfc9111_4_2_2_HeuristicIsTenPercentOfLastModifiedAge) {
  EXPECT_EQ(lifetime(ok({{"Last-Modified", httpDate(-10000s)}})), 1000s);
}

// §4.2.2: the heuristic is capped by cache.heuristic_max (a day by default).
TEST(Freshness, Rfc9111_4_2_2_HeuristicIsCapped) {
  EXPECT_EQ(lifetime(ok({{"Last-Modified", httpDate(-std::chrono::seconds(100 * 86400))}})),
            86400s);
  Config config;
  config.heuristicMax = 60s;
  EXPECT_EQ(lifetime(ok({{"Last-Modified", httpDate(-10000s)}}), config), 60s);
}

// §4.2.2: only heuristically cacheable statuses (or public) get a heuristic lifetime.
TEST(Freshness, Rfc9111_4_2_2_HeuristicOnlyForCacheableByDefault) {
  EXPECT_EQ(lifetime(response(302, {{"Last-Modified", httpDate(-10000s)}})), 0s);
  EXPECT_EQ(
      lifetime(response(302, {{"Last-Modified", httpDate(-10000s)}, {"Cache-Control", "public"}})),
      1000s);
}

// cache.ttl is the heuristic lifetime when there is no Last-Modified to compute one from; 0 (the
// default) gives none.
TEST(Freshness, Rfc9111_4_2_2_TtlIsTheDefaultHeuristic) {
  EXPECT_EQ(lifetime(ok({})), 0s);
  Config config;
  config.ttl = 300s;
  EXPECT_EQ(lifetime(ok({}), config), 300s);
  // Never over explicit freshness.
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=5"}}), config), 5s);
  EXPECT_EQ(lifetime(response(302, {}), config), 0s);
}

// cache.ttl_override (off by default) replaces the origin's freshness outright.
TEST(Freshness, TtlOverrideReplacesExplicitFreshness) {
  Config config;
  config.ttl = 300s;
  config.ttlOverride = true;
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=5"}}), config), 300s);
}

// §4.2.1: conflicting duplicate max-age directives make the response stale; identical ones are
// harmless; the first of other directives is used.
TEST(Freshness, Rfc9111_4_2_1_ConflictingDuplicatesAreStale) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=60, max-age=120"}})), 0s);
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=60"}, {"Cache-Control", "max-age=60"}})), 60s);
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "s-maxage=10, s-maxage=20, max-age=60"}})), 0s);
}

// §4.2.1: a max-age that is not delta-seconds makes the response stale (it does not fall back
// to Expires or a heuristic).
TEST(Freshness, Rfc9111_4_2_1_InvalidMaxAgeIsStale) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=abc"}, {"Expires", httpDate(600s)}})), 0s);
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=-5"}})), 0s);
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=1.5"}})), 0s);
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age"}})), 0s);
}

// §1.2.2: a delta-seconds beyond 2^31 is taken as 2^31.
TEST(Freshness, Rfc9111_1_2_2_HugeMaxAgeSaturates) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=99999999999999999999999"}})),
            std::chrono::seconds(2147483648));
}

// §5.2: a quoted argument is accepted as well.
TEST(Freshness, Rfc9111_5_2_QuotedMaxAgeIsAccepted) {
  EXPECT_EQ(lifetime(ok({{"Cache-Control", "max-age=\"60\""}})), 60s);
}

// §4.2: fresh while freshness_lifetime > current_age, stale from then on.
TEST(Freshness, Rfc9111_4_2_FreshUntilAgeReachesLifetime) {
  auto cache = makeCacheOrDie();
  const Response origin = ok({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}});
  fetch(*cache, get(), at(0s), origin);
  EXPECT_EQ(fetch(*cache, get(), at(59s), origin).action, Lookup::Action::kServe);
  EXPECT_EQ(fetch(*cache, get(), at(60s), origin).action, Lookup::Action::kRevalidate);
}

// §5.2.2.4: no-cache responses are stored but always validated before use.
TEST(Freshness, Rfc9111_5_2_2_4_NoCacheAlwaysRevalidates) {
  auto cache = makeCacheOrDie();
  const Response origin = ok({{"Cache-Control", "no-cache, max-age=600"}, {"ETag", "\"v1\""}});
  fetch(*cache, get(), at(0s), origin);
  const Exchange x = fetch(*cache, get(), at(1s), response(304, {{"ETag", "\"v1\""}}));
  EXPECT_EQ(x.action, Lookup::Action::kRevalidate);
  EXPECT_EQ(x.upstream->headers.first("If-None-Match"), "\"v1\"");
  EXPECT_EQ(x.response.status, 200);
}

}  // namespace
}  // namespace fairway::cache
