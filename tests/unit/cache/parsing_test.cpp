// Robust parsing: HTTP dates (RFC 9110 §5.6.7), delta-seconds (RFC 9111 §1.2.2), cache directives
// (§5.2), entity tags (RFC 9110 §8.8.3), Vary, and the entry codec for remote stores.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;
using std::chrono::sys_days;
using std::chrono::year;

const HttpDate kRfcExample = sys_days{year{1994} / 11 / 6} + 8h + 49min + 37s;

// RFC 9110 §5.6.7: the three date formats name the same instant.
TEST(Parsing, Rfc9110_5_6_7_ThreeDateFormats) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", w0), kRfcExample);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", w0), kRfcExample);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994", w0), kRfcExample);
  EXPECT_EQ(parseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT ", w0), kRfcExample);
}

// RFC 9110 §5.6.7: IMF-fixdate is what gets generated.
TEST(Parsing, Rfc9110_5_6_7_FormatsImfFixdate) {
  EXPECT_EQ(formatHttpDate(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(formatHttpDate(w0), "Sun, 22 Nov 2026 10:00:00 GMT");
  EXPECT_EQ(parseHttpDate(formatHttpDate(w0 + 12345s), w0),
            std::chrono::floor<std::chrono::seconds>(w0 + 12345s));
}

// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the previous century.
TEST(Parsing, Rfc9110_5_6_7_Rfc850TwoDigitYears) {
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", w0)->time_since_epoch(),
            kRfcExample.time_since_epoch());
  const auto y2030 = parseHttpDate("Friday, 01-Nov-30 00:00:00 GMT", w0);
  ASSERT_TRUE(y2030);
  EXPECT_EQ(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*y2030)).year(),
            year{2030});
  // 2077 would be 51 years after 2026: it is 1977. 2076 is exactly 50: it stays.
  const auto y1977 = parseHttpDate("Monday, 01-Nov-77 00:00:00 GMT", w0);
  ASSERT_TRUE(y1977);
  EXPECT_EQ(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*y1977)).year(),
            year{1977});
  const auto y2076 = parseHttpDate("Sunday, 01-Nov-76 00:00:00 GMT", w0);
  ASSERT_TRUE(y2076);
  EXPECT_EQ(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*y2076)).year(),
            year{2076});
}

// Malformed dates are rejected, not guessed.
TEST(Parsing, Rfc9110_5_6_7_InvalidDates) {
  for (const char* bad : {"", "0", "-1", "tomorrow", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                          "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun Nov 6 08:49:37 1994",
                          "Someday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 19a4 08:49:37 GMT"}) {
    EXPECT_FALSE(parseHttpDate(bad, w0)) << "'" << bad << "'";
  }
}

// Leap day and leap second.
TEST(Parsing, Rfc9110_5_6_7_LeapDayAndSecond) {
  EXPECT_TRUE(parseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT", w0));
  EXPECT_FALSE(parseHttpDate("Thu, 29 Feb 2023 00:00:00 GMT", w0));
  EXPECT_TRUE(parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT", w0));
}

// RFC 9111 §1.2.2: delta-seconds: digits only; beyond 2^31 saturates at 2^31.
TEST(Parsing, Rfc9111_1_2_2_DeltaSeconds) {
  EXPECT_EQ(parseDeltaSeconds("0"), 0);
  EXPECT_EQ(parseDeltaSeconds("0042"), 42);
  EXPECT_EQ(parseDeltaSeconds("2147483647"), 2147483647);
  EXPECT_EQ(parseDeltaSeconds("2147483649"), kDeltaSecondsMax);
  EXPECT_EQ(parseDeltaSeconds("999999999999999999999999999999"), kDeltaSecondsMax);
  for (const char* bad : {"", "-1", "+1", "1.0", " 1", "1s", "0x10"}) {
    EXPECT_FALSE(parseDeltaSeconds(bad)) << "'" << bad << "'";
  }
}

// §5.2: names are case-insensitive; arguments are tokens or quoted strings (unescaped); commas
// inside quotes do not split; malformed members are skipped.
TEST(Parsing, Rfc9111_5_2_DirectiveSyntax) {
  const auto d = parseDirectives(
      "Max-Age=60, no-cache=\"Set-Cookie, X-A\", private=\"a\\\"b\", , bad=\"open, s-maxage=5");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "max-age");
  EXPECT_EQ(d[0].argument, "60");
  EXPECT_EQ(d[1].name, "no-cache");
  EXPECT_EQ(d[1].argument, "Set-Cookie, X-A");
  EXPECT_EQ(d[2].argument, "a\"b");
}

// §5.2.2: the response directives read, including RFC 5861's.
TEST(Parsing, Rfc9111_5_2_2_ResponseDirectives) {
  const ResponseDirectives r = parseResponseDirectives(
      "public, max-age=10, s-maxage=20, must-revalidate, proxy-revalidate, no-cache, "
      "stale-while-revalidate=30, stale-if-error=40, private=\"X-A\", must-understand, no-store");
  EXPECT_TRUE(r.isPublic && r.mustRevalidate && r.proxyRevalidate && r.noCache &&
              r.mustUnderstand && r.noStore);
  EXPECT_FALSE(r.isPrivate);
  EXPECT_EQ(r.privateFields, (std::vector<std::string>{"x-a"}));
  EXPECT_EQ(r.maxAge, 10);
  EXPECT_EQ(r.sMaxAge, 20);
  EXPECT_EQ(r.staleWhileRevalidate, 30);
  EXPECT_EQ(r.staleIfError, 40);
  EXPECT_FALSE(r.invalidFreshness);
}

// §5.2: unknown directives are ignored.
TEST(Parsing, Rfc9111_5_2_3_UnknownDirectivesAreIgnored) {
  const ResponseDirectives r = parseResponseDirectives("community=\"UCI\", max-age=5, x-foo");
  EXPECT_EQ(r.maxAge, 5);
  EXPECT_FALSE(r.invalidFreshness);
}

// RFC 9110 §8.8.3: entity tags, weak and strong, and the two comparisons.
TEST(Parsing, Rfc9110_8_8_3_EntityTags) {
  const auto strong = parseEntityTag("\"xyzzy\"");
  const auto weak = parseEntityTag("W/\"xyzzy\"");
  ASSERT_TRUE(strong && weak);
  EXPECT_TRUE(strong->strongMatch(*strong));
  EXPECT_FALSE(strong->strongMatch(*weak));
  EXPECT_TRUE(strong->weakMatch(*weak));
  EXPECT_FALSE(parseEntityTag("xyzzy"));
  EXPECT_FALSE(parseEntityTag("\"a b\""));
  EXPECT_FALSE(parseEntityTag("w/\"x\""));
  const EntityTagList list = parseEntityTagList("\"a\", W/\"b\", junk, \"c\"");
  EXPECT_EQ(list.tags.size(), 3u);
  EXPECT_TRUE(parseEntityTagList(" * ").any);
}

// §4.1: Vary names are lower-cased, sorted, de-duplicated; "*" is flagged.
TEST(Parsing, Rfc9111_4_1_VaryList) {
  const VaryFields v = parseVary("Accept-Encoding, accept, ACCEPT-ENCODING");
  EXPECT_EQ(v.names, (std::vector<std::string>{"accept", "accept-encoding"}));
  EXPECT_FALSE(v.star);
  EXPECT_TRUE(parseVary("accept, *").star);
}

// Headers: case-insensitive lookup, field lines combined in order (RFC 9110 §5.3), set() keeps
// one line.
TEST(Parsing, Rfc9110_5_3_HeaderFieldLines) {
  Headers h{{"Accept", "a"}, {"X", "1"}, {"accept", "b"}};
  EXPECT_EQ(h.combined("ACCEPT"), "a, b");
  EXPECT_EQ(h.first("accept"), "a");
  EXPECT_EQ(h.count("Accept"), 2u);
  h.set("ACCEPT", "c");
  EXPECT_EQ(h.count("accept"), 1u);
  EXPECT_EQ(h.fields().front().name, "Accept");
  EXPECT_EQ(h.combined("accept"), "c");
  EXPECT_EQ(h.erase("x"), 1u);
  EXPECT_FALSE(h.combined("x"));
}

// URI references (Location) resolve against the request URI; origins compare case-insensitively.
TEST(Parsing, Rfc3986_5_2_ReferenceResolution) {
  const std::string base = "https://example.com/dir/page?q=1";
  EXPECT_EQ(resolveReference(base, "/x"), "https://example.com/x");
  EXPECT_EQ(resolveReference(base, "y"), "https://example.com/dir/y");
  EXPECT_EQ(resolveReference(base, "?z"), "https://example.com/dir/page?z");
  EXPECT_EQ(resolveReference(base, "//other.org/p"), "https://other.org/p");
  EXPECT_EQ(resolveReference(base, "http://a.b/c#frag"), "http://a.b/c");
  EXPECT_EQ(originOf("HTTPS://Example.COM:8443/x"), "https://example.com:8443");
  EXPECT_FALSE(originOf("/relative"));
}

// The entry codec round-trips everything a remote store needs.
TEST(Parsing, EntryCodecRoundTrip) {
  const auto original = std::make_shared<const Entry>(
      kUri, "accept=a\n",
      ok({{"Cache-Control", "max-age=60"}, {"Vary", "Accept"}, {"ETag", "\"e\""}},
         std::string("bi\0nary", 7)),
      w0 + 1500ms, w0 + 2s, std::vector<std::string>{"t1", "t2"});
  const std::string bytes = encodeEntry(*original);
  auto decoded = decodeEntry(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const Entry& e = *decoded.value();
  EXPECT_EQ(e.key(), kUri);
  EXPECT_EQ(e.secondaryKey(), "accept=a\n");
  EXPECT_EQ(e.requestTime(), w0 + 1500ms);
  EXPECT_EQ(e.responseTime(), w0 + 2s);
  EXPECT_EQ(e.response().status, 200);
  EXPECT_EQ(e.response().headers.fields().size(), 3u);
  EXPECT_EQ(bodyOf(e.response()), std::string("bi\0nary", 7));
  EXPECT_EQ(e.tags(), original->tags());
  EXPECT_EQ(e.directives().maxAge, 60);
  EXPECT_EQ(e.charge(), original->charge());
}

// Corrupt bytes (truncated, trailing, bad magic, absurd counts) are kCorrupt, never a crash.
TEST(Parsing, EntryCodecRejectsCorruptBytes) {
  const std::string good = encodeEntry(*entryFor(ok({{"Cache-Control", "max-age=60"}})));
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto truncated = decodeEntry(std::string_view(good).substr(0, n));
    ASSERT_FALSE(truncated) << n;
    EXPECT_EQ(truncated.error().code, ErrorCode::kCorrupt);
  }
  EXPECT_FALSE(decodeEntry(good + "x"));
  std::string badMagic = good;
  badMagic[4] = 'X';
  EXPECT_FALSE(decodeEntry(badMagic));
  EXPECT_FALSE(decodeEntry(std::string(64, '\xff')));
}

}  // namespace
}  // namespace fairway::cache
