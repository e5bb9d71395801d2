#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/cache/http.hpp>

namespace fairway::cache {

// Whole seconds since the Unix epoch, as HTTP dates have; 64 bits, so year 9999 does not overflow.
using HttpDate = std::chrono::sys_seconds;

// RFC 9111 §1.2.2: a delta-seconds value too large to represent is taken as 2^31.
inline constexpr std::int64_t kDeltaSecondsMax = 2147483648;

// delta-seconds = 1*DIGIT (RFC 9111 §1.2.2). Saturates at kDeltaSecondsMax; nullopt when `text`
// is empty or has anything but digits (a sign, a fraction, spaces inside).
std::optional<std::int64_t> parseDeltaSeconds(std::string_view text);

// HTTP-date (RFC 9110 §5.6.7) in any of its three forms: IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT")
// and asctime ("Sun Nov  6 08:49:37 1994"). Leading and trailing whitespace is ignored; anything
// else malformed (a bad day, month, time, zone) is nullopt. RFC 850 two-digit years are placed in
// the century that puts them no more than 50 years after `reference` (RFC 9110 §5.6.7).
std::optional<HttpDate> parseHttpDate(std::string_view text, SystemTime reference);
// The IMF-fixdate form, the only one to generate.
std::string formatHttpDate(HttpDate date);
inline std::string formatHttpDate(SystemTime time) {
  return formatHttpDate(std::chrono::floor<std::chrono::seconds>(time));
}

// One cache directive (RFC 9111 §5.2): its name lower-cased and its argument, unquoted, if any.
struct Directive {
  std::string name;
  std::optional<std::string> argument;
};

// Splits a Cache-Control value (all field lines already combined) into directives. Commas inside
// quoted strings do not split; quoted-pairs are unescaped; names are case-insensitive; members
// that are not `token [ "=" ( token / quoted-string ) ]` are skipped.
std::vector<Directive> parseDirectives(std::string_view value);

// Response directives a shared cache acts on (RFC 9111 §5.2.2, RFC 5861). Delta-seconds values
// are in seconds, saturated at kDeltaSecondsMax.
//
// Duplicates and invalid values (§4.2.1): for the freshness directives (max-age, s-maxage) a
// second occurrence with a different value, or an argument that is not delta-seconds, makes the
// response stale (`invalidFreshness`) — the RFC lets a cache either use the first occurrence or
// treat the response as stale, and a conflict is ambiguous, so the safe reading wins. For every
// other directive the first occurrence is used and an invalid argument makes it absent.
struct ResponseDirectives {
  bool noStore = false;
  bool noCache = false;  // unqualified, or qualified (a field list), which this cache treats alike
  bool mustRevalidate = false;
  bool proxyRevalidate = false;
  bool mustUnderstand = false;
  bool isPublic = false;
  bool isPrivate = false;                  // unqualified only: the shared cache must not store
  std::vector<std::string> privateFields;  // private="a, b": these fields are not stored
  bool hasMaxAge = false;                  // max-age present, whatever its value
  bool hasSMaxAge = false;                 // s-maxage present, whatever its value
  std::optional<std::int64_t> maxAge;
  std::optional<std::int64_t> sMaxAge;
  std::optional<std::int64_t> staleWhileRevalidate;  // RFC 5861 §3
  std::optional<std::int64_t> staleIfError;          // RFC 5861 §4
  bool invalidFreshness = false;  // an invalid or conflicting max-age / s-maxage: stale

  // RFC 9111 §4.2.4: must-revalidate, proxy-revalidate and s-maxage (§5.2.2.10) forbid a shared
  // cache to serve the response stale.
  bool forbidsStale() const { return mustRevalidate || proxyRevalidate || hasSMaxAge; }
};
ResponseDirectives parseResponseDirectives(std::string_view cacheControl);

// Request directives (RFC 9111 §5.2.1, RFC 5861 §4). The first occurrence wins; an invalid
// argument makes the directive absent (max-stale=abc is ignored, not read as "any staleness").
struct RequestDirectives {
  bool noCache = false;  // Cache-Control: no-cache, or Pragma: no-cache without Cache-Control
  bool noStore = false;
  bool onlyIfCached = false;
  std::optional<std::int64_t> maxAge;
  std::optional<std::int64_t> minFresh;
  bool maxStale = false;                      // present
  std::optional<std::int64_t> maxStaleLimit;  // its argument; none: any staleness is accepted
  std::optional<std::int64_t> staleIfError;
};
// Reads Cache-Control (and Pragma, RFC 9111 §5.4) from request headers.
RequestDirectives parseRequestDirectives(const Headers& headers);

// An entity tag (RFC 9110 §8.8.3): opaque-tag with its quotes, and whether it is weak (W/).
struct EntityTag {
  bool weak = false;
  std::string opaque;  // including the double quotes

  // RFC 9110 §8.8.3.2.
  bool strongMatch(const EntityTag& other) const {
    return !weak && !other.weak && opaque == other.opaque;
  }
  bool weakMatch(const EntityTag& other) const { return opaque == other.opaque; }
};
std::optional<EntityTag> parseEntityTag(std::string_view text);
// An If-None-Match / If-Match list: "*" (nullopt list, `any`) or entity tags; malformed members
// are skipped.
struct EntityTagList {
  bool any = false;
  std::vector<EntityTag> tags;
};
EntityTagList parseEntityTagList(std::string_view text);

// Field names of a Vary value (all lines combined), lower-cased, sorted, without duplicates;
// `star` when a member is "*".
struct VaryFields {
  bool star = false;
  std::vector<std::string> names;
};
VaryFields parseVary(std::string_view value);

}  // namespace fairway::cache
