// RFC 9111 §4.3: validation — conditional requests upstream, 304 handling and freshening, and
// clients' conditional requests answered from the cache.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

const Response kV1 = ok({{"Cache-Control", "max-age=60"},
                         {"ETag", "\"v1\""},
                         {"Last-Modified", httpDate(-3600s)},
                         {"Content-Length", "4"},
                         {"X-Version", "1"}},
                        "body");

// §4.3.1: validation sends the stored validators: If-None-Match from ETag, If-Modified-Since from
// Last-Modified (its exact value).
TEST(Validation, Rfc9111_4_3_1_ConditionalRequestCarriesStoredValidators) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kV1);
  const Exchange x = fetch(*cache, get(), at(61s), response(304, {{"ETag", "\"v1\""}}));
  ASSERT_EQ(x.action, Lookup::Action::kRevalidate);
  EXPECT_EQ(x.upstream->headers.first("If-None-Match"), "\"v1\"");
  EXPECT_EQ(x.upstream->headers.first("If-Modified-Since"), httpDate(-3600s));
}

// §4.3.1: the client's own validators are not forwarded; the cache's replace them.
TEST(Validation, Rfc9111_4_3_1_ClientValidatorsAreReplaced) {
  const Request client = get(kUri, {{"If-None-Match", "\"client\""}, {"X-Keep", "1"}});
  const Request upstream = Policy::conditionalRequest(client, *entryFor(kV1));
  EXPECT_EQ(upstream.headers.first("If-None-Match"), "\"v1\"");
  EXPECT_EQ(upstream.headers.count("If-None-Match"), 1u);
  EXPECT_TRUE(upstream.headers.contains("X-Keep"));
}

// §4.3.3, §4.3.4: a 304 freshens the stored response — its fields updated, its body kept, its age
// restarted — and the client gets the full stored response.
TEST(Validation, Rfc9111_4_3_4_NotModifiedFreshensStoredResponse) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kV1);
  const Response notModified = response(304,
                                        {{"ETag", "\"v1\""},
                                         {"Cache-Control", "max-age=120"},
                                         {"X-Version", "2"},
                                         {"Date", httpDate(100s)}},
                                        "");
  const Exchange x = fetch(*cache, get(), at(100s), notModified);
  ASSERT_EQ(x.action, Lookup::Action::kRevalidate);
  EXPECT_EQ(x.response.status, 200);
  EXPECT_EQ(bodyOf(x.response), "body");
  EXPECT_EQ(x.response.headers.first("X-Version"), "2");
  EXPECT_EQ(x.response.headers.count("X-Version"), 1u);
  EXPECT_EQ(x.response.headers.first("Age"), "0");
  // Fresh again, for the new max-age, counted from the validation.
  EXPECT_EQ(fetch(*cache, get(), at(219s), {}).action, Lookup::Action::kServe);
  EXPECT_EQ(fetch(*cache, get(), at(220s), notModified).action, Lookup::Action::kRevalidate);
  EXPECT_EQ(cache->stats().notModified, 2u);
}

// §3.2: Content-Length from a 304 does not replace the stored one.
TEST(Validation, Rfc9111_3_2_NotModifiedKeepsContentLength) {
  const Entry fresh =
      Policy().freshen(*entryFor(kV1), response(304, {{"Content-Length", "0"}}), w0, w0);
  EXPECT_EQ(fresh.response().headers.first("Content-Length"), "4");
}

// §4.3.4: a 304 with a strong validator freshens every stored response with that validator.
TEST(Validation, Rfc9111_4_3_4_StrongValidatorSelectsAllMatches) {
  auto a = entryFor(ok({{"ETag", "\"x\""}, {"Vary", "A"}}));
  auto b = entryFor(ok({{"ETag", "\"x\""}, {"Vary", "B"}}));
  auto c = entryFor(ok({{"ETag", "\"y\""}}));
  const auto selected =
      Policy::selectForUpdate({a, b, c}, response(304, {{"ETag", "\"x\""}}), nullptr);
  EXPECT_EQ(selected, (std::vector<EntryPtr>{a, b}));
}

// §4.3.4: with a weak validator, the most recent matching response is selected.
TEST(Validation, Rfc9111_4_3_4_WeakValidatorSelectsMostRecent) {
  auto older = entryFor(ok({{"ETag", "W/\"x\""}, {"Date", httpDate(-100s)}}));
  auto newer = entryFor(ok({{"ETag", "W/\"x\""}, {"Date", httpDate(-10s)}, {"Vary", "A"}}));
  const auto selected =
      Policy::selectForUpdate({older, newer}, response(304, {{"ETag", "W/\"x\""}}), nullptr);
  EXPECT_EQ(selected, (std::vector<EntryPtr>{newer}));
}

// §4.3.4: a 304 without validators refers to the response the cache validated.
TEST(Validation, Rfc9111_4_3_4_NoValidatorSelectsTheValidatedResponse) {
  auto stored = entryFor(ok({{"Last-Modified", httpDate(-100s)}}));
  const auto selected = Policy::selectForUpdate({stored}, response(304, {}), stored);
  EXPECT_EQ(selected, (std::vector<EntryPtr>{stored}));
}

// §4.3.3: a full response to a validation request replaces the stored one.
TEST(Validation, Rfc9111_4_3_3_FullResponseReplacesStored) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kV1);
  const Response v2 = ok({{"Cache-Control", "max-age=60"}, {"ETag", "\"v2\""}}, "new body");
  EXPECT_EQ(bodyOf(fetch(*cache, get(), at(61s), v2).response), "new body");
  const Exchange x = fetch(*cache, get(), at(62s), {});
  EXPECT_EQ(x.action, Lookup::Action::kServe);
  EXPECT_EQ(bodyOf(x.response), "new body");
}

// §4.3.2: a client's If-None-Match that matches the stored ETag (weak comparison) is answered
// 304 from the cache, with the fields RFC 9110 §15.4.5 keeps and no body.
TEST(Validation, Rfc9111_4_3_2_IfNoneMatchAnsweredWith304) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kV1);
  const Exchange x = fetch(*cache, get(kUri, {{"If-None-Match", "\"zz\", W/\"v1\""}}), at(1s), {});
  ASSERT_EQ(x.action, Lookup::Action::kServe);
  EXPECT_EQ(x.response.status, 304);
  EXPECT_EQ(x.response.headers.first("ETag"), "\"v1\"");
  EXPECT_TRUE(x.response.headers.contains("Cache-Control"));
  EXPECT_TRUE(x.response.headers.contains("Age"));
  EXPECT_FALSE(x.response.headers.contains("X-Version"));
  EXPECT_EQ(x.response.body, nullptr);
  const Exchange other = fetch(*cache, get(kUri, {{"If-None-Match", "\"v0\""}}), at(2s), {});
  EXPECT_EQ(other.response.status, 200);
}

// §4.3.2 (RFC 9110 §13.2.2): If-None-Match: * matches any stored representation.
TEST(Validation, Rfc9111_4_3_2_IfNoneMatchStar) {
  EXPECT_TRUE(Policy::notModified(get(kUri, {{"If-None-Match", "*"}}), kV1, w0));
}

// §4.3.2: If-Modified-Since against Last-Modified (a later or equal date → 304).
TEST(Validation, Rfc9111_4_3_2_IfModifiedSince) {
  EXPECT_TRUE(Policy::notModified(get(kUri, {{"If-Modified-Since", httpDate(-3600s)}}), kV1, w0));
  EXPECT_TRUE(Policy::notModified(get(kUri, {{"If-Modified-Since", httpDate(-60s)}}), kV1, w0));
  EXPECT_FALSE(Policy::notModified(get(kUri, {{"If-Modified-Since", httpDate(-7200s)}}), kV1, w0));
  // An invalid date is ignored.
  EXPECT_FALSE(Policy::notModified(get(kUri, {{"If-Modified-Since", "yesterday"}}), kV1, w0));
}

// §4.3.2: without Last-Modified, If-Modified-Since is evaluated against Date.
TEST(Validation, Rfc9111_4_3_2_IfModifiedSinceFallsBackToDate) {
  const Response r = ok({{"Date", httpDate(-100s)}});
  EXPECT_TRUE(Policy::notModified(get(kUri, {{"If-Modified-Since", httpDate(-50s)}}), r, w0));
}

// §4.3.2 (RFC 9110 §13.2.2): If-Modified-Since is ignored when If-None-Match is present.
TEST(Validation, Rfc9111_4_3_2_IfNoneMatchTakesPrecedence) {
  const Request req =
      get(kUri, {{"If-None-Match", "\"other\""}, {"If-Modified-Since", httpDate(0s)}});
  EXPECT_FALSE(Policy::notModified(req, kV1, w0));
}

// A conditional miss fetches the whole response (to store it) and answers the client's
// condition itself.
TEST(Validation, Rfc9111_4_3_2_ConditionalMissIsFetchedWholeAndAnswered304) {
  auto cache = makeCacheOrDie();
  const Exchange x = fetch(*cache, get(kUri, {{"If-None-Match", "\"v1\""}}), at(0s), kV1);
  ASSERT_EQ(x.action, Lookup::Action::kForward);
  EXPECT_FALSE(x.upstream->headers.contains("If-None-Match"));
  EXPECT_EQ(x.response.status, 304);
  EXPECT_EQ(fetch(*cache, get(), at(1s), {}).response.status, 200);
}

// §4.3.2: conditionals are evaluated only for GET and HEAD.
TEST(Validation, Rfc9111_4_3_2_OnlyForGetAndHead) {
  EXPECT_FALSE(Policy::notModified(request("POST", kUri, {{"If-None-Match", "*"}}), kV1, w0));
  EXPECT_TRUE(Policy::notModified(request("HEAD", kUri, {{"If-None-Match", "*"}}), kV1, w0));
}

}  // namespace
}  // namespace fairway::cache
