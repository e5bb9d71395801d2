// RFC 9111 §4.2.3: age calculation; §5.1: the Age header on every response from the cache.

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace fairway::cache {
namespace {

using namespace test;

// An entry whose request left at w0 + sent and whose response arrived at w0 + received.
EntryPtr exchanged(Headers headers, std::chrono::seconds sent, std::chrono::seconds received) {
  return std::make_shared<const Entry>(kUri, "", Response{200, std::move(headers), nullptr},
                                       w0 + sent, w0 + received);
}

// §4.2.3: apparent_age = max(0, response_time − date_value).
TEST(Age, Rfc9111_4_2_3_ApparentAgeFromDate) {
  auto e = exchanged({{"Date", httpDate(-30s)}}, 0s, 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0), 30s);
}

// §4.2.3: a Date after the response time (clock skew) gives an apparent age of 0, not less.
TEST(Age, Rfc9111_4_2_3_FutureDateIsNotNegative) {
  auto e = exchanged({{"Date", httpDate(300s)}}, 0s, 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0), 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 10s), 10s);
}

// §4.2.3: corrected_age_value = age_value + response_delay, response_delay = response_time −
// request_time.
TEST(Age, Rfc9111_4_2_3_CorrectedAgeValueAddsResponseDelay) {
  auto e = exchanged({{"Date", httpDate(3s)}, {"Age", "5"}}, 0s, 3s);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 3s), 8s);
}

// §4.2.3: corrected_initial_age = max(apparent_age, corrected_age_value).
TEST(Age, Rfc9111_4_2_3_CorrectedInitialAgeIsTheLarger) {
  auto byDate = exchanged({{"Date", httpDate(-50s)}, {"Age", "10"}}, 0s, 0s);
  EXPECT_EQ(Policy::currentAge(*byDate, w0), 50s);
  auto byAge = exchanged({{"Date", httpDate(-5s)}, {"Age", "40"}}, 0s, 0s);
  EXPECT_EQ(Policy::currentAge(*byAge, w0), 40s);
}

// §4.2.3: resident_time = now − response_time; current_age = corrected_initial_age +
// resident_time.
TEST(Age, Rfc9111_4_2_3_ResidentTimeAccumulates) {
  auto e = exchanged({{"Date", httpDate(-10s)}, {"Age", "2"}}, -1s, 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 100s), 110s);
}

// RFC 9110 §6.6.1: without a Date, date_value is the response time.
TEST(Age, Rfc9110_6_6_1_MissingDateUsesResponseTime) {
  auto e = exchanged({}, 0s, 0s);
  EXPECT_EQ(e->date(), std::chrono::floor<std::chrono::seconds>(w0));
  EXPECT_EQ(Policy::currentAge(*e, w0 + 7s), 7s);
}

// §5.1: an Age that is not delta-seconds is ignored (age_value 0).
TEST(Age, Rfc9111_5_1_InvalidAgeIsIgnored) {
  auto e = exchanged({{"Age", "-20"}}, 0s, 0s);
  EXPECT_EQ(e->ageValue(), 0);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 1s), 1s);
}

// §5.1: an age beyond 2^31 is sent as 2147483648.
TEST(Age, Rfc9111_5_1_AgeOverflowIsCappedAt2Pow31) {
  auto e = exchanged({{"Age", "9999999999999"}}, 0s, 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 100s), std::chrono::seconds(2147483648));
  const Response served = Policy::serve(*e, get(), w0 + 100s);
  EXPECT_EQ(served.headers.first("Age"), "2147483648");
}

// §5.1: every response served from the cache carries Age, counted from the stored exchange.
TEST(Age, Rfc9111_5_1_ServedResponsesCarryAge) {
  auto cache = makeCacheOrDie();
  fetch(*cache, get(), at(0s), ok({{"Cache-Control", "max-age=600"}, {"Age", "3"}}));
  const Exchange x = fetch(*cache, get(), at(42s), std::nullopt);
  ASSERT_EQ(x.action, Lookup::Action::kServe);
  EXPECT_EQ(x.response.headers.first("Age"), "45");
  EXPECT_EQ(x.response.headers.count("Age"), 1u);
}

// §4.2.3 with §4.2: an Age from upstream counts against freshness.
TEST(Age, Rfc9111_4_2_3_UpstreamAgeShortensFreshness) {
  auto cache = makeCacheOrDie();
  const Response origin = ok({{"Cache-Control", "max-age=60"}, {"Age", "50"}});
  fetch(*cache, get(), at(0s), origin);
  EXPECT_EQ(fetch(*cache, get(), at(9s), origin).action, Lookup::Action::kServe);
  EXPECT_EQ(fetch(*cache, get(), at(10s), origin).action, Lookup::Action::kForward);
}

// §4.2.3: sub-second request and response times count (ages are floored only at the end).
TEST(Age, Rfc9111_4_2_3_SubSecondTimesAccumulate) {
  const auto e = std::make_shared<const Entry>(
      kUri, "", Response{200, {{"Date", httpDate(0s)}}, nullptr}, w0, w0 + 600ms);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 900ms), 0s);
  EXPECT_EQ(Policy::currentAge(*e, w0 + 1600ms), 1s);
}

}  // namespace
}  // namespace fairway::cache
