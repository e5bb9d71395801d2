#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fairway/cache/config.hpp>
#include <fairway/cache/entry.hpp>
#include <fairway/cache/http.hpp>
#include <fairway/cache/parsing.hpp>

namespace fairway::cache {

// Why a response was or was not stored (RFC 9111 §3).
enum class Storability {
  kStorable,
  kMethod,          // not a GET (HEAD is answered from a stored GET, never stored itself)
  kStatus,          // not final, 206 (ranges are not combined), 304, or unknown to must-understand
  kNoStore,         // response no-store (§5.2.2.5)
  kRequestNoStore,  // request no-store (§5.2.1.5)
  kPrivate,         // unqualified private: a shared cache must not store it (§5.2.2.7)
  kAuthorization,   // a request with Authorization, no public/s-maxage/must-revalidate (§3.5)
  kNotCacheable,    // no explicit freshness, not public, status not heuristically cacheable
  kVaryStar,        // Vary: * never matches (§4.1), so storing it is pointless
  kSetCookie,       // Set-Cookie (not named by private="..."), and Config::storeSetCookie is off
};

// How a stored response relates to a request at an instant (RFC 9111 §4.2, §4.2.4, RFC 5861).
enum class Usability {
  kFresh,                 // serve it
  kStale,                 // stale, but the request's max-stale accepts it: serve it
  kStaleWhileRevalidate,  // serve it and revalidate in the background (RFC 5861 §3)
  kRevalidate,            // validate it with the origin before use (§4.3)
};

struct Verdict {
  Usability usability = Usability::kRevalidate;
  std::chrono::seconds age{0};       // current_age (§4.2.3), floored
  std::chrono::seconds lifetime{0};  // freshness_lifetime (§4.2.1)
};

// The RFC 9111 rules of a shared cache, as pure functions of messages, entries and `now`. Holds
// only configuration: every method is const and thread-safe, reads no clock and touches no store,
// so the proxy, the simulator and a remote store's worker can each call it where they like.
class Policy {
 public:
  explicit Policy(Config config = {});

  const Config& config() const { return config_; }

  // §3 (with §3.5, §4.1, §5.2): may a shared cache store `response` to `request`?
  Storability storability(const Request& request, const Response& response) const;

  // The entry to store for this exchange, or nullopt when storability() says no. Applies §3.1:
  // drops the hop-by-hop fields (Connection and the fields it names, Keep-Alive, Proxy-Connection,
  // TE, Transfer-Encoding, Upgrade), Proxy-Authenticate / -Authentication-Info, and the fields a
  // private="..." names; adds Date = response time when missing (RFC 9110 §6.6.1); computes the
  // secondary key and the purge tags.
  std::optional<Entry> makeEntry(const Request& request, const Response& response,
                                 SystemTime requestTime, SystemTime responseTime) const;

  // §4.1: the request's values for the selecting fields `vary.names`, each normalised (all field
  // lines combined, list members trimmed of whitespace and re-joined with ","), absent fields
  // distinguished from empty ones.
  static std::string secondaryKey(const VaryFields& vary, const Headers& requestHeaders);
  // §4.1: whether `entry` was selected by header values equal to the request's.
  static bool matchesVary(const Entry& entry, const Request& request);
  // §4 and §4.1: of the variants whose method and Vary match, the most recent (by Date, then
  // response time); nullptr when none matches. GET entries answer GET and HEAD.
  static EntryPtr select(const Variants& variants, const Request& request);

  // §4.2.1, §4.2.2: s-maxage, else max-age, else Expires − Date, else a heuristic for a
  // heuristically cacheable status or a public response — heuristicFraction × (Date −
  // Last-Modified) capped at heuristicMax, or `ttl` without Last-Modified; else 0. An invalid or
  // conflicting max-age / s-maxage gives 0 (stale). With ttlOverride: `ttl`. Saturates at 2^31 s.
  std::chrono::seconds freshnessLifetime(const Entry& entry) const;
  // Could `entry` ever answer a request? Yes when it is fresh on arrival (lifetime above its
  // age), can be revalidated (an ETag or Last-Modified), or may be served stale
  // (stale-while-revalidate, stale-if-error, Config::staleIfError). A response the RFC lets a
  // cache store but that is none of these — a plain 200 with no Cache-Control, Expires,
  // Last-Modified or ETag and no `ttl` — would only take room and push out useful entries.
  bool worthStoring(const Entry& entry) const;
  // §4.2.3: corrected_initial_age + resident_time at `now`, floored to seconds, never negative,
  // saturated at 2^31 s. Wall clock, so that entries from a shared store age correctly.
  static std::chrono::seconds currentAge(const Entry& entry, SystemTime now);

  // §4.2.4, §4.3, §5.2.1, RFC 5861 §3: may `entry` answer a request with `directives` at `now`?
  Verdict evaluate(const Entry& entry, const RequestDirectives& directives, SystemTime now) const;

  // §4.2.4, RFC 5861 §4: after an upstream error (no response, or 500/502/503/504), may `entry` be
  // served stale? Never when must-revalidate, proxy-revalidate or s-maxage forbid it; otherwise
  // when its staleness is within the response's or the request's stale-if-error, or the
  // configured staleIfError.
  bool servableOnError(const Entry& entry, const RequestDirectives& directives,
                       SystemTime now) const;
  // RFC 5861 §4: the statuses that count as an error.
  static bool isServerError(int status) {
    return status == 500 || status == 502 || status == 503 || status == 504;
  }

  // §4.3.1: the request to send upstream to validate `entry` on behalf of `client`: the client's
  // request without its own If-None-Match / If-Modified-Since, with If-None-Match from the
  // entry's ETag and If-Modified-Since from its Last-Modified.
  static Request conditionalRequest(const Request& client, const Entry& entry);
  // The client's request without If-None-Match and If-Modified-Since, so that a miss fetches a
  // whole, storable response (the client's conditions are then evaluated by the cache).
  static Request unconditionalRequest(const Request& client);

  // §4.3.4: of `variants`, the ones a 304 `notModified` freshens: those whose strong ETag it
  // matches; else the most recent weak match; else, with Last-Modified only, those with the same
  // Last-Modified; else (no validator in the 304) `validated`, the entry the request validated.
  static std::vector<EntryPtr> selectForUpdate(const Variants& variants,
                                               const Response& notModified,
                                               const EntryPtr& validated);
  // §3.2, §4.3.4: `entry` with the header fields of `notModified` replacing its own (except
  // Content-Length and those §3.1 excludes), and the validation exchange's times: its age starts
  // again.
  Entry freshen(const Entry& entry, const Response& notModified, SystemTime requestTime,
                SystemTime responseTime) const;

  // §4, §5.1, §4.3.2: the response to `request` from `entry` at `now`: an Age header; no body
  // for HEAD (but a Content-Length giving the GET's size, RFC 9110 §8.6); a 304 (with the fields
  // RFC 9110 §15.4.5 keeps) when the request's If-None-Match or If-Modified-Since say the client's
  // copy is current.
  static Response serve(const Entry& entry, const Request& request, SystemTime now);
  // §4.3.2 / RFC 9110 §13.1.1, §13.1.3: does `request`'s If-None-Match (weak comparison), or
  // failing that If-Modified-Since (against Last-Modified, else Date), say that `response` is the
  // representation the client already has? Only for GET and HEAD.
  static bool notModified(const Request& request, const Response& response, SystemTime reference);
  // A 304 in place of `response` (RFC 9110 §15.4.5): keeps Cache-Control, Content-Location, Date,
  // ETag, Expires, Vary (and Age, Last-Modified), drops the body and the rest.
  static Response notModifiedResponse(const Response& response);

  // §4.4: the keys an unsafe request invalidates when its response is not an error (status
  // 2xx or 3xx): the target URI, and the Location and Content-Location URIs when they share its
  // origin. Empty for safe methods and error responses.
  static std::vector<std::string> invalidationTargets(const Request& request,
                                                      const Response& response);

  // RFC 9110 §15.1: statuses cacheable by default (heuristically cacheable).
  static bool heuristicallyCacheable(int status);

 private:
  // The purge tags the configured tag header lists: members separated by spaces or commas.
  std::vector<std::string> tagsOf(const Headers& headers) const;

  Config config_;
};

}  // namespace fairway::cache
