#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include <fairway/cache/policy.hpp>

namespace fairway::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr seconds kMaxDelta{kDeltaSecondsMax};

seconds saturate(std::int64_t s) {
  return seconds(std::clamp<std::int64_t>(s, 0, kDeltaSecondsMax));
}

// §3.1: never stored. Proxy-* are a SHOULD NOT; they are dropped too.
constexpr std::array<std::string_view, 9> kUnstored = {
    "connection",         "keep-alive", "proxy-connection",   "te",
    "transfer-encoding",  "upgrade",    "proxy-authenticate", "proxy-authentication-info",
    "proxy-authorization"};

bool inList(std::string_view name, const std::vector<std::string>& lowerNames) {
  return std::any_of(lowerNames.begin(), lowerNames.end(),
                     [&](const std::string& n) { return equalsIgnoreCase(n, name); });
}

// The lower-cased field names a response's Connection header lists (RFC 9110 §7.6.1).
std::vector<std::string> connectionOptions(const Headers& headers) {
  std::vector<std::string> names;
  if (auto connection = headers.combined("Connection")) {
    for (const Directive& d : parseDirectives(*connection)) {
      names.push_back(d.name);
    }
  }
  return names;
}

bool excludedFromStorage(std::string_view name, const std::vector<std::string>& alsoExcluded) {
  for (std::string_view n : kUnstored) {
    if (equalsIgnoreCase(n, name)) {
      return true;
    }
  }
  return inList(name, alsoExcluded);
}

// Status codes whose caching requirements this cache implements (for must-understand, §5.2.2.3):
// those RFC 9110 defines, plus 429, 431, 451, 511.
bool understoodStatus(int status) {
  static constexpr std::array kUnderstood = {200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 305,
                                             307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408,
                                             409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422,
                                             426, 429, 431, 451, 500, 501, 502, 503, 504, 505, 511};
  return std::find(kUnderstood.begin(), kUnderstood.end(), status) != kUnderstood.end();
}

// A comma-separated list's members, trimmed, re-joined with "," (§4.1 normalisation).
std::string normaliseList(std::string_view value) {
  std::string out;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    const std::string_view member = trimOws(value.substr(start, comma - start));
    if (!member.empty()) {
      if (!out.empty()) {
        out += ',';
      }
      out += member;
    }
    start = comma + 1;
  }
  return out;
}

bool moreRecent(const Entry& a, const Entry& b) {
  if (a.date() != b.date()) {
    return a.date() > b.date();
  }
  return a.responseTime() > b.responseTime();
}

milliseconds toMillis(SystemTime t) {
  return std::chrono::floor<milliseconds>(t.time_since_epoch());
}

// "scheme://authority" lower-cased, the rest as it is: keys compare equal however the origin was
// spelled.
std::optional<std::string> normaliseUri(std::string_view uri) {
  auto origin = originOf(uri);
  if (!origin) {
    return std::nullopt;
  }
  return *origin + std::string(uri.substr(origin->size()));
}

}  // namespace

Policy::Policy(Config config) : config_(std::move(config)) {}

bool Policy::heuristicallyCacheable(int status) {
  static constexpr std::array kCacheable = {200, 203, 204, 206, 300, 301,
                                            308, 404, 405, 410, 414, 501};
  return std::find(kCacheable.begin(), kCacheable.end(), status) != kCacheable.end();
}

Storability Policy::storability(const Request& request, const Response& response) const {
  if (request.method != "GET") {
    return Storability::kMethod;
  }
  const int status = response.status;
  if (status < 200 || status > 999 || status == 206 || status == 304) {
    return Storability::kStatus;
  }
  if (parseRequestDirectives(request.headers).noStore) {
    return Storability::kRequestNoStore;
  }
  const auto cc = response.headers.combined("Cache-Control");
  const ResponseDirectives d = cc ? parseResponseDirectives(*cc) : ResponseDirectives{};
  if (d.mustUnderstand && !understoodStatus(status)) {
    return Storability::kStatus;
  }
  // §5.2.2.3: a cache that understands the status ignores no-store sent with must-understand.
  if (d.noStore && !d.mustUnderstand) {
    return Storability::kNoStore;
  }
  if (d.isPrivate) {
    return Storability::kPrivate;
  }
  if (request.headers.contains("Authorization") && !d.mustRevalidate && !d.isPublic &&
      !d.hasSMaxAge) {
    return Storability::kAuthorization;
  }
  if (auto vary = response.headers.combined("Vary"); vary && parseVary(*vary).star) {
    return Storability::kVaryStar;
  }
  // private="Set-Cookie" keeps the cookie out of the stored response (§5.2.2.7): no objection.
  if (!config_.storeSetCookie && response.headers.contains("Set-Cookie") &&
      std::none_of(d.privateFields.begin(), d.privateFields.end(),
                   [](const std::string& f) { return equalsIgnoreCase(f, "Set-Cookie"); })) {
    return Storability::kSetCookie;
  }
  if (!d.isPublic && !response.headers.contains("Expires") && !d.hasMaxAge && !d.hasSMaxAge &&
      !heuristicallyCacheable(status)) {
    return Storability::kNotCacheable;
  }
  return Storability::kStorable;
}

std::optional<Entry> Policy::makeEntry(const Request& request, const Response& response,
                                       SystemTime requestTime, SystemTime responseTime) const {
  if (storability(request, response) != Storability::kStorable) {
    return std::nullopt;
  }
  std::vector<std::string> excluded = connectionOptions(response.headers);
  if (auto cc = response.headers.combined("Cache-Control")) {
    for (std::string& name : parseResponseDirectives(*cc).privateFields) {
      excluded.push_back(std::move(name));
    }
  }
  Response stored;
  stored.status = response.status;
  stored.body = response.body;
  for (const Field& f : response.headers) {
    if (!excludedFromStorage(f.name, excluded)) {
      stored.headers.add(f.name, f.value);
    }
  }
  // RFC 9110 §6.6.1: a cache adds a missing Date, and may replace an invalid one.
  const auto date = stored.headers.first("Date");
  if (!date || !parseHttpDate(*date, responseTime)) {
    stored.headers.set("Date", formatHttpDate(responseTime));
  }
  std::vector<std::string> tags = tagsOf(stored.headers);
  VaryFields vary;
  if (auto v = stored.headers.combined("Vary")) {
    vary = parseVary(*v);
  }
  return Entry(request.uri, secondaryKey(vary, request.headers), std::move(stored), requestTime,
               responseTime, std::move(tags));
}

std::vector<std::string> Policy::tagsOf(const Headers& headers) const {
  std::vector<std::string> tags;
  if (config_.tagHeader.empty()) {
    return tags;
  }
  const auto value = headers.combined(config_.tagHeader);
  if (!value) {
    return tags;
  }
  std::size_t start = 0;
  const std::string& v = *value;
  while (start < v.size()) {
    const auto end = std::min(v.find_first_of(" \t,", start), v.size());
    if (end > start) {
      tags.push_back(v.substr(start, end - start));
    }
    start = end + 1;
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::string Policy::secondaryKey(const VaryFields& vary, const Headers& requestHeaders) {
  std::string key;
  for (const std::string& name : vary.names) {
    key += name;
    // Absent and empty differ: "name\n" against "name=\n".
    if (auto value = requestHeaders.combined(name)) {
      key += '=';
      key += normaliseList(*value);
    }
    key += '\n';
  }
  return key;
}

bool Policy::matchesVary(const Entry& entry, const Request& request) {
  if (entry.vary().star) {
    return false;
  }
  return secondaryKey(entry.vary(), request.headers) == entry.secondaryKey();
}

EntryPtr Policy::select(const Variants& variants, const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return nullptr;
  }
  EntryPtr best;
  for (const EntryPtr& e : variants) {
    if (matchesVary(*e, request) && (!best || moreRecent(*e, *best))) {
      best = e;
    }
  }
  return best;
}

seconds Policy::freshnessLifetime(const Entry& entry) const {
  if (config_.ttlOverride) {
    return saturate(config_.ttl.count());
  }
  const ResponseDirectives& d = entry.directives();
  if (d.invalidFreshness) {
    return seconds(0);
  }
  if (d.sMaxAge) {
    return saturate(*d.sMaxAge);
  }
  if (d.maxAge) {
    return saturate(*d.maxAge);
  }
  if (entry.expires()) {
    if (*entry.expires() <= entry.date()) {
      return seconds(0);
    }
    return saturate((*entry.expires() - entry.date()).count());
  }
  // §4.2.2: heuristic freshness, for statuses cacheable by default or an explicit public.
  if (!heuristicallyCacheable(entry.response().status) && !d.isPublic) {
    return seconds(0);
  }
  if (entry.lastModified() && *entry.lastModified() <= entry.date()) {
    const auto interval = static_cast<double>((entry.date() - *entry.lastModified()).count());
    const auto heuristic = static_cast<std::int64_t>(interval * config_.heuristicFraction);
    return std::min(saturate(heuristic), config_.heuristicMax);
  }
  return saturate(config_.ttl.count());
}

seconds Policy::currentAge(const Entry& entry, SystemTime now) {
  // §4.2.3, in milliseconds so that sub-second request and response times count.
  const milliseconds responseTime = toMillis(entry.responseTime());
  const milliseconds requestTime = toMillis(entry.requestTime());
  const milliseconds dateValue = entry.date().time_since_epoch();
  const milliseconds apparentAge = std::max(milliseconds(0), responseTime - dateValue);
  const milliseconds responseDelay = std::max(milliseconds(0), responseTime - requestTime);
  const milliseconds correctedAgeValue = seconds(entry.ageValue()) + responseDelay;
  const milliseconds correctedInitialAge = std::max(apparentAge, correctedAgeValue);
  const milliseconds residentTime = std::max(milliseconds(0), toMillis(now) - responseTime);
  const milliseconds currentAge = correctedInitialAge + residentTime;
  return std::min(std::chrono::floor<seconds>(currentAge), kMaxDelta);
}

Verdict Policy::evaluate(const Entry& entry, const RequestDirectives& request,
                         SystemTime now) const {
  Verdict v;
  v.age = currentAge(entry, now);
  v.lifetime = freshnessLifetime(entry);
  const ResponseDirectives& d = entry.directives();
  // §5.2.2.4, §5.2.1.4: no-cache on either side means "validate first".
  if (d.noCache || request.noCache) {
    return v;
  }
  // §5.2.1.1: the client wants nothing older than max-age.
  if (request.maxAge && v.age.count() > *request.maxAge) {
    return v;
  }
  if (v.lifetime > v.age) {
    // §5.2.1.3: ... and still fresh min-fresh from now.
    if (request.minFresh && (v.lifetime - v.age).count() < *request.minFresh) {
      return v;
    }
    v.usability = Usability::kFresh;
    return v;
  }
  // Stale. §4.2.4: never served so when the response forbids it.
  if (d.forbidsStale()) {
    return v;
  }
  const std::int64_t staleness = (v.age - v.lifetime).count();
  // §5.2.1.2: max-stale, with or without a limit.
  if (request.maxStale && (!request.maxStaleLimit || staleness <= *request.maxStaleLimit)) {
    v.usability = Usability::kStale;
    return v;
  }
  // RFC 5861 §3.
  if (d.staleWhileRevalidate && staleness <= *d.staleWhileRevalidate) {
    v.usability = Usability::kStaleWhileRevalidate;
  }
  return v;
}

bool Policy::worthStoring(const Entry& entry) const {
  if (entry.hasValidator()) {
    return true;
  }
  const ResponseDirectives& d = entry.directives();
  if (d.noCache) {
    return false;  // always validated first, and nothing to validate it with
  }
  if (!d.forbidsStale() && (d.staleWhileRevalidate.value_or(0) > 0 ||
                            d.staleIfError.value_or(0) > 0 || config_.staleIfError.count() > 0)) {
    return true;
  }
  return freshnessLifetime(entry) > currentAge(entry, entry.responseTime());
}

bool Policy::servableOnError(const Entry& entry, const RequestDirectives& request,
                             SystemTime now) const {
  const ResponseDirectives& d = entry.directives();
  // §4.2.4: no-cache, must-revalidate, proxy-revalidate and s-maxage forbid it; a client's
  // no-cache asked for a validated response.
  if (d.forbidsStale() || d.noCache || request.noCache) {
    return false;
  }
  std::optional<std::int64_t> window;
  const auto widen = [&](std::optional<std::int64_t> w) {
    if (w && (!window || *w > *window)) {
      window = w;
    }
  };
  widen(d.staleIfError);
  widen(request.staleIfError);
  if (config_.staleIfError.count() > 0) {
    widen(config_.staleIfError.count());
  }
  if (!window) {
    return false;
  }
  const seconds staleness = currentAge(entry, now) - freshnessLifetime(entry);
  return staleness.count() <= *window;
}

Request Policy::unconditionalRequest(const Request& client) {
  Request r = client;
  r.headers.erase("If-None-Match");
  r.headers.erase("If-Modified-Since");
  return r;
}

Request Policy::conditionalRequest(const Request& client, const Entry& entry) {
  Request r = unconditionalRequest(client);
  if (entry.etag()) {
    r.headers.set("If-None-Match", (entry.etag()->weak ? "W/" : "") + entry.etag()->opaque);
  }
  if (entry.lastModified()) {
    // The stored value exactly, as RFC 9110 §13.1.3 asks.
    r.headers.set("If-Modified-Since",
                  std::string(*entry.response().headers.first("Last-Modified")));
  }
  return r;
}

std::vector<EntryPtr> Policy::selectForUpdate(const Variants& variants, const Response& notModified,
                                              const EntryPtr& validated) {
  std::vector<EntryPtr> selected;
  const auto mostRecent = [&](auto&& matches) {
    EntryPtr best;
    for (const EntryPtr& e : variants) {
      if (matches(*e) && (!best || moreRecent(*e, *best))) {
        best = e;
      }
    }
    if (best) {
      selected.push_back(best);
    }
  };
  const auto etagValue = notModified.headers.first("ETag");
  const auto tag = etagValue ? parseEntityTag(*etagValue) : std::nullopt;
  if (tag && !tag->weak) {
    for (const EntryPtr& e : variants) {
      if (e->etag() && e->etag()->strongMatch(*tag)) {
        selected.push_back(e);
      }
    }
  }
  if (selected.empty() && tag) {
    mostRecent([&](const Entry& e) { return e.etag() && e.etag()->weakMatch(*tag); });
  }
  if (selected.empty() && !tag) {
    const auto lm = notModified.headers.first("Last-Modified");
    if (lm) {
      const auto when = parseHttpDate(*lm, SystemTime{});
      mostRecent([&](const Entry& e) { return when && e.lastModified() == when; });
    }
  }
  // The 304 answered the conditional request built from `validated` alone, so when nothing else
  // is selected — no validator in the 304, or one that matches nothing stored — it refers to
  // that response.
  if (selected.empty() && validated) {
    selected.push_back(validated);
  }
  return selected;
}

Entry Policy::freshen(const Entry& entry, const Response& notModified, SystemTime requestTime,
                      SystemTime responseTime) const {
  std::vector<std::string> excluded = connectionOptions(notModified.headers);
  excluded.push_back("content-length");
  Headers headers = entry.response().headers;
  // Age describes the message it came with: the stored one goes, the 304's (if any) replaces it.
  headers.erase("Age");
  std::vector<std::string> replaced;
  for (const Field& f : notModified.headers) {
    if (excludedFromStorage(f.name, excluded)) {
      continue;
    }
    if (!inList(f.name, replaced)) {
      headers.erase(f.name);
      replaced.push_back(toLower(f.name));
    }
    headers.add(f.name, f.value);
  }
  const auto date = headers.first("Date");
  if (!notModified.headers.contains("Date") || !date || !parseHttpDate(*date, responseTime)) {
    headers.set("Date", formatHttpDate(responseTime));
  }
  Response response{entry.response().status, std::move(headers), entry.response().body};
  std::vector<std::string> tags = tagsOf(response.headers);
  return Entry(entry.key(), entry.secondaryKey(), std::move(response), requestTime, responseTime,
               std::move(tags));
}

bool Policy::notModified(const Request& request, const Response& response, SystemTime reference) {
  if ((request.method != "GET" && request.method != "HEAD") || response.status < 200 ||
      response.status > 299) {
    return false;
  }
  // RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it.
  if (auto inm = request.headers.combined("If-None-Match")) {
    const EntityTagList list = parseEntityTagList(*inm);
    if (list.any) {
      return true;
    }
    const auto etagValue = response.headers.first("ETag");
    const auto etag = etagValue ? parseEntityTag(*etagValue) : std::nullopt;
    return etag && std::any_of(list.tags.begin(), list.tags.end(),
                               [&](const EntityTag& t) { return t.weakMatch(*etag); });
  }
  const auto ims = request.headers.first("If-Modified-Since");
  if (!ims) {
    return false;
  }
  const auto since = parseHttpDate(*ims, reference);
  if (!since) {
    return false;  // RFC 9110 §13.1.3: an invalid date means the field is ignored
  }
  auto modified = response.headers.first("Last-Modified");
  if (!modified) {
    modified = response.headers.first("Date");
  }
  const auto when = modified ? parseHttpDate(*modified, reference) : std::nullopt;
  return when && *when <= *since;
}

Response Policy::notModifiedResponse(const Response& response) {
  static constexpr std::array<std::string_view, 8> kKept = {
      "cache-control", "content-location", "date", "etag", "expires",
      "vary",          "last-modified",    "age"};
  Response out;
  out.status = 304;
  for (const Field& f : response.headers) {
    for (std::string_view kept : kKept) {
      if (equalsIgnoreCase(kept, f.name)) {
        out.headers.add(f.name, f.value);
        break;
      }
    }
  }
  return out;
}

Response Policy::serve(const Entry& entry, const Request& request, SystemTime now) {
  Response out = notModified(request, entry.response(), now) ? notModifiedResponse(entry.response())
                                                             : entry.response();
  // §5.1: every response from the cache says how old it is.
  out.headers.set("Age", std::to_string(currentAge(entry, now).count()));
  if (request.method == "HEAD") {
    // RFC 9110 §8.6: a HEAD response may say how large the GET's content would be.
    if (out.status != 304 && out.status != 204) {
      out.headers.set("Content-Length", std::to_string(out.bodySize()));
    }
    out.body = nullptr;
  }
  return out;
}

std::vector<std::string> Policy::invalidationTargets(const Request& request,
                                                     const Response& response) {
  std::vector<std::string> targets;
  if (isSafeMethod(request.method) || response.status < 200 || response.status > 399) {
    return targets;
  }
  targets.push_back(normaliseUri(request.uri).value_or(request.uri));
  const auto origin = originOf(request.uri);
  for (std::string_view field : {"Location", "Content-Location"}) {
    const auto value = response.headers.first(field);
    if (!value || !origin) {
      continue;
    }
    const auto resolved = resolveReference(request.uri, *value);
    if (!resolved || originOf(*resolved) != origin) {
      continue;  // §4.4: another origin's URIs are not ours to invalidate
    }
    std::string key = normaliseUri(*resolved).value_or(*resolved);
    if (std::find(targets.begin(), targets.end(), key) == targets.end()) {
      targets.push_back(std::move(key));
    }
  }
  return targets;
}

}  // namespace fairway::cache
