// RFC 9111 §4.1: secondary keys from the fields Vary names.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

const Response kGzip = ok(
    {{"Cache-Control", "max-age=600"}, {"Vary", "Accept-Encoding"}, {"Content-Encoding", "gzip"}},
    "gzipped");
const Response kPlain =
    ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept-Encoding"}}, "plain");

// §4.1: a stored response is used only for requests whose selecting fields match.
TEST(Vary, Rfc9111_4_1_SelectingFieldsMustMatch) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(kUri, {{"Accept-Encoding", "gzip"}}), at(0s), kGzip);
  EXPECT_EQ(fetch(*cache, get(kUri, {{"Accept-Encoding", "gzip"}}), at(1s), kGzip).action,
            Lookup::Action::kServe);
  EXPECT_EQ(fetch(*cache, get(kUri, {{"Accept-Encoding", "br"}}), at(2s), kPlain).action,
            Lookup::Action::kForward);
}

// §4.1: several variants live side by side under one URI, each served to its own requests.
TEST(Vary, Rfc9111_4_1_VariantsCoexist) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(kUri, {{"Accept-Encoding", "gzip"}}), at(0s), kGzip);
  fetch(*cache, get(kUri, {{"Accept-Encoding", "identity"}}), at(1s), kPlain);
  EXPECT_EQ(bodyOf(fetch(*cache, get(kUri, {{"Accept-Encoding", "gzip"}}), at(2s), {}).response),
            "gzipped");
  EXPECT_EQ(
      bodyOf(fetch(*cache, get(kUri, {{"Accept-Encoding", "identity"}}), at(3s), {}).response),
      "plain");
}

// §4.1: field names are case-insensitive, and values are normalised: field lines combined,
// whitespace around list members ignored.
TEST(Vary, Rfc9111_4_1_ValuesAreNormalised) {
  auto cache = makeCacheOrDie();
  const Response r =
      ok({{"Cache-Control", "max-age=600"}, {"vary", "accept-encoding, ACCEPT-LANGUAGE"}});
  fetch(*cache, get(kUri, {{"Accept-Encoding", "gzip, br"}, {"Accept-Language", "en"}}), at(0s), r);
  const Request sameButSpelledDifferently = get(
      kUri, {{"ACCEPT-ENCODING", "gzip"}, {"accept-encoding", " br "}, {"accept-language", "en"}});
  EXPECT_EQ(fetch(*cache, sameButSpelledDifferently, at(1s), r).action, Lookup::Action::kServe);
}

// §4.1: a field absent from both requests matches; absent in one and present (even empty) in the
// other does not.
TEST(Vary, Rfc9111_4_1_AbsentFieldMatchesOnlyAbsent) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), kPlain);
  EXPECT_EQ(fetch(*cache, get(), at(1s), kPlain).action, Lookup::Action::kServe);
  EXPECT_EQ(fetch(*cache, get(kUri, {{"Accept-Encoding", ""}}), at(2s), kPlain).action,
            Lookup::Action::kForward);
}

// §4.1: Vary: * always fails to match (and is therefore never stored).
TEST(Vary, Rfc9111_4_1_VaryStarNeverMatches) {
  auto entry = std::make_shared<const Entry>(kUri, "", ok({{"Vary", "*"}}), w0, w0);
  EXPECT_FALSE(Policy::matchesVary(*entry, get()));
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=600"}, {"Vary", "*"}}));
  EXPECT_EQ(fetch(*cache, get(), at(1s), kPlain).action, Lookup::Action::kForward);
}

// §4: when several stored responses match, the most recent (by Date) is used.
TEST(Vary, Rfc9111_4_MostRecentMatchingResponseIsUsed) {
  auto older =
      std::make_shared<const Entry>(kUri, "", ok({{"Date", httpDate(-100s)}}, "older"), w0, w0);
  auto newer = std::make_shared<const Entry>(
      kUri, "accept\n", ok({{"Date", httpDate(-10s)}, {"Vary", "Accept"}}, "newer"), w0, w0);
  const Variants variants{older, newer};
  EXPECT_EQ(Policy::select(variants, get()), newer);
}

// The secondary key distinguishes absent from empty and keeps names sorted.
TEST(Vary, Rfc9111_4_1_SecondaryKeyShape) {
  const VaryFields vary = parseVary("X-B, x-a");
  EXPECT_EQ(Policy::secondaryKey(vary, {{"x-a", "1"}}), "x-a=1\nx-b\n");
  EXPECT_EQ(Policy::secondaryKey(vary, {{"x-a", "1"}, {"X-B", ""}}), "x-a=1\nx-b=\n");
}

// A new response for the same secondary key replaces the old variant, not adds to it.
TEST(Vary, SameSecondaryKeyReplacesTheVariant) {
  auto cache = makeCacheOrDie();
  const Request gzip = get(kUri, {{"Accept-Encoding", "gzip"}});
  fetch(*cache, gzip, at(0s), ok({{"Cache-Control", "max-age=1"}, {"Vary", "Accept-Encoding"}}));
  fetch(*cache, gzip, at(5s), kGzip);
  auto variants = cache->store().lookup(kUri);
  ASSERT_TRUE(variants.ok() && variants.value());
  EXPECT_EQ(variants.value()->size(), 1u);
  EXPECT_EQ(cache->store().stats().entries, 1u);
}

// cache.max_variants bounds the variants per URI, dropping the oldest.
TEST(Vary, MaxVariantsDropsTheOldest) {
  Config config = smallConfig();
  config.maxVariants = 2;
  auto cache = makeCacheOrDie(config);
  for (int i = 0; i < 3; ++i) {
    fetch(*cache, get(kUri, {{"Accept-Language", "l" + std::to_string(i)}}),
          at(std::chrono::seconds(i)),
          ok({{"Cache-Control", "max-age=600"}, {"Vary", "Accept-Language"}}));
  }
  EXPECT_EQ(fetch(*cache, get(kUri, {{"Accept-Language", "l0"}}), at(5s), kPlain).action,
            Lookup::Action::kForward);
  EXPECT_EQ(fetch(*cache, get(kUri, {{"Accept-Language", "l2"}}), at(6s), kPlain).action,
            Lookup::Action::kServe);
}

}  // namespace
}  // namespace fairway::cache
