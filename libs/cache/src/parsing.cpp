#include <algorithm>
#include <array>
#include <cstdio>

#include <fairway/cache/parsing.hpp>

namespace fairway::cache {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// tchar (RFC 9110 §5.6.2).
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

// A fixed-width run of digits at `text[pos]`, advancing `pos`.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (!isDigit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

bool literal(std::string_view text, std::size_t& pos, std::string_view expected) {
  if (text.substr(pos, expected.size()) != expected) {
    return false;
  }
  pos += expected.size();
  return true;
}

std::optional<int> monthAt(std::string_view text, std::size_t& pos) {
  for (std::size_t m = 0; m < kMonths.size(); ++m) {
    if (text.substr(pos, 3) == kMonths[m]) {
      pos += 3;
      return static_cast<int>(m) + 1;
    }
  }
  return std::nullopt;
}

// time-of-day = hour ":" minute ":" second; leap seconds (60) are accepted as RFC 9110 allows.
std::optional<seconds> timeOfDay(std::string_view text, std::size_t& pos) {
  auto h = digits(text, pos, 2);
  if (!h || !literal(text, pos, ":")) {
    return std::nullopt;
  }
  auto m = digits(text, pos, 2);
  if (!m || !literal(text, pos, ":")) {
    return std::nullopt;
  }
  auto s = digits(text, pos, 2);
  if (!s || *h > 23 || *m > 59 || *s > 60) {
    return std::nullopt;
  }
  return hours(*h) + minutes(*m) + seconds(*s);
}

std::optional<HttpDate> makeDate(int y, int m, int d, seconds time) {
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return sys_days(ymd) + time;
}

// IMF-fixdate: day-name "," SP date1 SP time-of-day SP GMT; date1 = day SP month SP year.
std::optional<HttpDate> parseImfFixdate(std::string_view t) {
  std::size_t pos = 0;
  if (t.size() != 29 || std::find(kDays.begin(), kDays.end(), t.substr(0, 3)) == kDays.end()) {
    return std::nullopt;
  }
  pos = 3;
  if (!literal(t, pos, ", ")) {
    return std::nullopt;
  }
  auto d = digits(t, pos, 2);
  if (!d || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto m = monthAt(t, pos);
  if (!m || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto y = digits(t, pos, 4);
  if (!y || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto time = timeOfDay(t, pos);
  if (!time || !literal(t, pos, " GMT") || pos != t.size()) {
    return std::nullopt;
  }
  return makeDate(*y, *m, *d, *time);
}

// rfc850-date: day-name-l "," SP date2 SP time-of-day SP GMT; date2 = day "-" month "-" 2DIGIT.
std::optional<HttpDate> parseRfc850(std::string_view t, SystemTime reference) {
  const auto comma = t.find(',');
  if (comma == std::string_view::npos ||
      std::find(kLongDays.begin(), kLongDays.end(), t.substr(0, comma)) == kLongDays.end()) {
    return std::nullopt;
  }
  std::size_t pos = comma;
  if (!literal(t, pos, ", ")) {
    return std::nullopt;
  }
  auto d = digits(t, pos, 2);
  if (!d || !literal(t, pos, "-")) {
    return std::nullopt;
  }
  auto m = monthAt(t, pos);
  if (!m || !literal(t, pos, "-")) {
    return std::nullopt;
  }
  auto yy = digits(t, pos, 2);
  if (!yy || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto time = timeOfDay(t, pos);
  if (!time || !literal(t, pos, " GMT") || pos != t.size()) {
    return std::nullopt;
  }
  // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the most recent past
  // year with those digits.
  const int refYear = static_cast<int>(year_month_day(floor<days>(reference)).year());
  int y = refYear - refYear % 100 + *yy;
  if (y > refYear + 50) {
    y -= 100;
  } else if (y <= refYear - 50) {
    y += 100;
  }
  return makeDate(y, *m, *d, *time);
}

// asctime-date: day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT / ( SP DIGIT
// )).
std::optional<HttpDate> parseAsctime(std::string_view t) {
  if (t.size() != 24 || std::find(kDays.begin(), kDays.end(), t.substr(0, 3)) == kDays.end()) {
    return std::nullopt;
  }
  std::size_t pos = 3;
  if (!literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto m = monthAt(t, pos);
  if (!m || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  std::optional<int> d;
  if (t[pos] == ' ') {
    ++pos;
    d = digits(t, pos, 1);
  } else {
    d = digits(t, pos, 2);
  }
  if (!d || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto time = timeOfDay(t, pos);
  if (!time || !literal(t, pos, " ")) {
    return std::nullopt;
  }
  auto y = digits(t, pos, 4);
  if (!y || pos != t.size()) {
    return std::nullopt;
  }
  return makeDate(*y, *m, *d, *time);
}

// Reads a quoted-string at text[pos] (pos at the opening quote), unescaping quoted-pairs.
std::optional<std::string> quotedString(std::string_view text, std::size_t& pos) {
  std::string out;
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      pos = i + 1;
      return out;
    }
    if (c == '\\') {
      if (++i == text.size()) {
        return std::nullopt;
      }
      out += text[i];
    } else {
      out += c;
    }
  }
  return std::nullopt;
}

// Splits a comma-separated list, honouring quoted strings.
std::vector<std::string_view> splitList(std::string_view value) {
  std::vector<std::string_view> members;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      members.push_back(trimOws(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  members.push_back(trimOws(value.substr(start)));
  std::erase_if(members, [](std::string_view m) { return m.empty(); });
  return members;
}

std::vector<std::string> fieldNames(std::string_view list) {
  std::vector<std::string> names;
  for (std::string_view member : splitList(list)) {
    if (isToken(member)) {
      names.push_back(toLower(member));
    }
  }
  return names;
}

// The first occurrence of each directive: whether seen, and its delta-seconds argument.
struct Seconds {
  bool seen = false;
  bool valid = false;
  std::int64_t value = 0;
  bool conflict = false;  // a later occurrence disagreed

  void take(const Directive& d) {
    const std::optional<std::int64_t> v =
        d.argument ? parseDeltaSeconds(*d.argument) : std::nullopt;
    if (seen) {
      conflict = conflict || !v || !valid || *v != value;
      return;
    }
    seen = true;
    valid = v.has_value();
    value = v.value_or(0);
  }
  std::optional<std::int64_t> get() const {
    return valid ? std::optional<std::int64_t>(value) : std::nullopt;
  }
};

}  // namespace

std::optional<std::int64_t> parseDeltaSeconds(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (const char c : text) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    if (value < kDeltaSecondsMax) {  // past 2^31 the value is 2^31 (§1.2.2); keep scanning
      value = std::min<std::int64_t>(kDeltaSecondsMax, value * 10 + (c - '0'));
    }
  }
  return value;
}

std::optional<HttpDate> parseHttpDate(std::string_view text, SystemTime reference) {
  text = trimOws(text);
  if (text.size() < 4) {
    return std::nullopt;
  }
  if (text[3] == ',') {
    return parseImfFixdate(text);
  }
  if (text[3] == ' ') {
    return parseAsctime(text);
  }
  return parseRfc850(text, reference);
}

std::string formatHttpDate(HttpDate date) {
  const auto dayPoint = floor<days>(date);
  const year_month_day ymd(dayPoint);
  const hh_mm_ss<seconds> time(date - dayPoint);
  const weekday wd(dayPoint);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                kDays[wd.c_encoding()].data(), static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1].data(),
                static_cast<int>(ymd.year()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer;
}

std::vector<Directive> parseDirectives(std::string_view value) {
  std::vector<Directive> out;
  for (std::string_view member : splitList(value)) {
    const auto eq = member.find('=');
    const std::string_view name = trimOws(member.substr(0, eq));
    if (!isToken(name)) {
      continue;
    }
    Directive d{toLower(name), std::nullopt};
    if (eq != std::string_view::npos) {
      const std::string_view arg = trimOws(member.substr(eq + 1));
      if (!arg.empty() && arg.front() == '"') {
        std::size_t pos = 0;
        auto unquoted = quotedString(arg, pos);
        if (!unquoted || pos != arg.size()) {
          continue;
        }
        d.argument = std::move(unquoted);
      } else if (isToken(arg)) {
        d.argument = std::string(arg);
      } else {
        continue;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

ResponseDirectives parseResponseDirectives(std::string_view cacheControl) {
  ResponseDirectives r;
  Seconds maxAge, sMaxAge, swr, sie;
  bool privateSeen = false;
  for (const Directive& d : parseDirectives(cacheControl)) {
    const std::string& n = d.name;
    if (n == "no-store") {
      r.noStore = true;
    } else if (n == "no-cache") {
      r.noCache = true;
    } else if (n == "must-revalidate") {
      r.mustRevalidate = true;
    } else if (n == "proxy-revalidate") {
      r.proxyRevalidate = true;
    } else if (n == "must-understand") {
      r.mustUnderstand = true;
    } else if (n == "public") {
      r.isPublic = true;
    } else if (n == "private") {
      if (privateSeen) {
        continue;
      }
      privateSeen = true;
      if (d.argument) {
        r.privateFields = fieldNames(*d.argument);
      } else {
        r.isPrivate = true;
      }
    } else if (n == "max-age") {
      maxAge.take(d);
    } else if (n == "s-maxage") {
      sMaxAge.take(d);
    } else if (n == "stale-while-revalidate") {
      swr.take(d);
    } else if (n == "stale-if-error") {
      sie.take(d);
    }
  }
  r.maxAge = maxAge.get();
  r.sMaxAge = sMaxAge.get();
  r.staleWhileRevalidate = swr.get();
  r.staleIfError = sie.get();
  r.hasMaxAge = maxAge.seen;
  r.hasSMaxAge = sMaxAge.seen;
  r.invalidFreshness = (maxAge.seen && (!maxAge.valid || maxAge.conflict)) ||
                       (sMaxAge.seen && (!sMaxAge.valid || sMaxAge.conflict));
  return r;
}

RequestDirectives parseRequestDirectives(const Headers& headers) {
  RequestDirectives r;
  const std::optional<std::string> cc = headers.combined("Cache-Control");
  if (!cc) {
    // §5.4: Pragma: no-cache counts as Cache-Control: no-cache only without Cache-Control.
    if (auto pragma = headers.combined("Pragma")) {
      for (const Directive& d : parseDirectives(*pragma)) {
        r.noCache = r.noCache || d.name == "no-cache";
      }
    }
    return r;
  }
  Seconds maxAge, minFresh, sie;
  bool maxStaleSeen = false;
  for (const Directive& d : parseDirectives(*cc)) {
    const std::string& n = d.name;
    if (n == "no-cache") {
      r.noCache = true;
    } else if (n == "no-store") {
      r.noStore = true;
    } else if (n == "only-if-cached") {
      r.onlyIfCached = true;
    } else if (n == "max-age") {
      maxAge.take(d);
    } else if (n == "min-fresh") {
      minFresh.take(d);
    } else if (n == "stale-if-error") {
      sie.take(d);
    } else if (n == "max-stale" && !maxStaleSeen) {
      maxStaleSeen = true;
      if (!d.argument) {
        r.maxStale = true;
      } else if (auto limit = parseDeltaSeconds(*d.argument)) {
        r.maxStale = true;
        r.maxStaleLimit = limit;
      }
    }
  }
  r.maxAge = maxAge.get();
  r.minFresh = minFresh.get();
  r.staleIfError = sie.get();
  return r;
}

std::optional<EntityTag> parseEntityTag(std::string_view text) {
  text = trimOws(text);
  EntityTag tag;
  if (text.starts_with("W/")) {
    tag.weak = true;
    text.remove_prefix(2);
  }
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::nullopt;
  }
  // etagc = %x21 / %x23-7E / obs-text: no DQUOTE, space or control inside.
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c <= 0x20 || c == 0x7f) {
      return std::nullopt;
    }
  }
  tag.opaque = std::string(text);
  return tag;
}

EntityTagList parseEntityTagList(std::string_view text) {
  EntityTagList list;
  if (trimOws(text) == "*") {
    list.any = true;
    return list;
  }
  // Entity tags cannot contain commas, so a plain split suffices.
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string_view::npos) {
      comma = text.size();
    }
    if (auto tag = parseEntityTag(text.substr(start, comma - start))) {
      list.tags.push_back(std::move(*tag));
    }
    start = comma + 1;
  }
  return list;
}

VaryFields parseVary(std::string_view value) {
  VaryFields vary;
  for (std::string_view member : splitList(value)) {
    if (member == "*") {
      vary.star = true;
    } else if (isToken(member)) {
      vary.names.push_back(toLower(member));
    }
  }
  std::sort(vary.names.begin(), vary.names.end());
  vary.names.erase(std::unique(vary.names.begin(), vary.names.end()), vary.names.end());
  return vary;
}

}  // namespace fairway::cache
