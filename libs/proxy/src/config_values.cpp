#include "config_values.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include <fairway/breaker/config.hpp>
#include <fairway/proxy/config_loader.hpp>

namespace fairway::proxy {
namespace config {

std::string_view trim(std::string_view text) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<std::int64_t> parseInteger(std::string_view text, bool allowHex) {
  text = trim(text);
  if (allowHex && text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    const auto value = parseUnsigned(text);
    if (!value || *value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(*value);
  }
  if (text.empty() || text.front() == '+') {
    return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view text) {
  text = trim(text);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parseNumber(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.front() == '+') {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> parseBool(std::string_view text) {
  const std::string word = lower(trim(text));
  if (word == "true" || word == "yes" || word == "on" || word == "1") {
    return true;
  }
  if (word == "false" || word == "no" || word == "off" || word == "0") {
    return false;
  }
  return std::nullopt;
}

std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("prot" -> "port").
std::size_t editDistance(std::string_view a, std::string_view b) {
  const std::size_t m = b.size();
  // Three rows: two back for transpositions.
  std::vector<std::size_t> previous2(m + 1);
  std::vector<std::size_t> previous(m + 1);
  std::vector<std::size_t> current(m + 1);
  for (std::size_t j = 0; j <= m; ++j) {
    previous[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], previous2[j - 2] + 1);
      }
    }
    std::swap(previous2, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

}  // namespace

std::optional<std::string> closest(std::string_view word, std::span<const std::string> candidates) {
  const std::string w = lower(word);
  // Short words tolerate one edit, longer ones two: "prot" -> "port", "helth_chek" -> ...
  const std::size_t limit = w.size() < 5 ? 1 : 2;
  std::optional<std::string> best;
  std::size_t bestDistance = limit + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t gap =
        candidate.size() > w.size() ? candidate.size() - w.size() : w.size() - candidate.size();
    if (gap > limit) {
      continue;  // at least `gap` edits apart
    }
    const std::size_t distance = editDistance(w, lower(candidate));
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace config

namespace {

// Parses "12" or "12.345" at the front of `text`: the integer part and the fraction's digits.
struct Decimal {
  std::uint64_t whole = 0;
  std::string_view fraction;  // digits after the point, possibly empty
  std::size_t length = 0;     // characters consumed
  bool overflow = false;      // the integer part does not fit in 64 bits
};

std::optional<Decimal> takeDecimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (__builtin_mul_overflow(d.whole, std::uint64_t{10}, &d.whole) ||
        __builtin_add_overflow(d.whole, digit, &d.whole)) {
      d.overflow = true;  // reported as too large by scale()
    }
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    if (i == start) {
      return std::nullopt;  // "5." is not a number
    }
    d.fraction = text.substr(start, i - start);
  }
  d.length = i;
  return d;
}

enum class Scaled { kOk, kOverflow, kInexact };

// GCC and Clang's 128-bit integer: whole × unit and fraction × unit fit in it (unit < 2^42).
__extension__ using Wide = unsigned __int128;

// whole.fraction × unit, exactly, into `out`.
Scaled scale(const Decimal& d, std::uint64_t unit, std::uint64_t& out) {
  if (d.overflow) {
    return Scaled::kOverflow;
  }
  std::string_view fraction = d.fraction;
  while (!fraction.empty() && fraction.back() == '0') {
    fraction.remove_suffix(1);
  }
  if (fraction.size() > 18) {
    return Scaled::kInexact;  // finer than the smallest step of any unit
  }
  Wide f = 0;
  Wide pow10 = 1;
  for (char c : fraction) {
    f = f * 10 + static_cast<unsigned>(c - '0');
    pow10 *= 10;
  }
  if (f * unit % pow10 != 0) {
    return Scaled::kInexact;
  }
  const Wide total = Wide{d.whole} * unit + f * unit / pow10;
  if (total > std::numeric_limits<std::uint64_t>::max()) {
    return Scaled::kOverflow;
  }
  out = static_cast<std::uint64_t>(total);
  return Scaled::kOk;
}

void setWhy(std::string* why, std::string text) {
  if (why != nullptr) {
    *why = std::move(text);
  }
}

constexpr std::uint64_t kMaxSigned =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::optional<std::uint64_t> durationUnit(std::string_view unit) {
  if (unit == "ns") {
    return 1;
  }
  if (unit == "us" || unit == "\xC2\xB5s") {  // "µs"
    return 1'000;
  }
  if (unit == "ms") {
    return 1'000'000;
  }
  if (unit == "s") {
    return 1'000'000'000;
  }
  if (unit == "m") {
    return 60'000'000'000;
  }
  if (unit == "h") {
    return 3'600'000'000'000;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text, std::string* why) {
  text = config::trim(text);
  constexpr const char* kShape = "must be a duration such as 30s, 500ms, 1m30s or 30 (seconds)";
  if (text.empty()) {
    setWhy(why, kShape);
    return std::nullopt;
  }
  if (text.front() == '-') {
    setWhy(why, "must not be negative");
    return std::nullopt;
  }
  std::uint64_t total = 0;
  bool plain = false;  // a number with no unit: seconds
  while (!text.empty()) {
    const auto number = takeDecimal(text);
    if (!number) {
      setWhy(why, kShape);
      return std::nullopt;
    }
    text.remove_prefix(number->length);
    std::size_t unitLength = 0;
    while (unitLength < text.size() && !(text[unitLength] >= '0' && text[unitLength] <= '9')) {
      ++unitLength;
    }
    const std::string_view unitText = text.substr(0, unitLength);
    text.remove_prefix(unitLength);
    std::uint64_t unit = 1'000'000'000;
    if (unitText.empty()) {
      if (!text.empty() || total != 0 || plain) {
        setWhy(why, kShape);
        return std::nullopt;
      }
      plain = true;
    } else if (const auto known = durationUnit(config::lower(unitText))) {
      unit = *known;
    } else {
      setWhy(why, "unknown unit '" + std::string(unitText) + "' (use ns, us, ms, s, m or h)");
      return std::nullopt;
    }
    std::uint64_t part = 0;
    switch (scale(*number, unit, part)) {
      case Scaled::kOk:
        break;
      case Scaled::kOverflow:
        setWhy(why, "is too large (at most 2562047h)");
        return std::nullopt;
      case Scaled::kInexact:
        setWhy(why, "must be a whole number of nanoseconds");
        return std::nullopt;
    }
    if (__builtin_add_overflow(total, part, &total) || total > kMaxSigned) {
      setWhy(why, "is too large (at most 2562047h)");
      return std::nullopt;
    }
  }
  return Duration(static_cast<std::int64_t>(total));
}

std::optional<std::uint64_t> parseSize(std::string_view text, std::string* why) {
  text = config::trim(text);
  constexpr const char* kShape = "must be a size in bytes such as 65536, 64k or 1MiB";
  if (text.empty()) {
    setWhy(why, kShape);
    return std::nullopt;
  }
  if (text.front() == '-') {
    setWhy(why, "must not be negative");
    return std::nullopt;
  }
  const auto number = takeDecimal(text);
  if (!number) {
    setWhy(why, kShape);
    return std::nullopt;
  }
  const std::string unit = config::lower(config::trim(text.substr(number->length)));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    multiplier = std::uint64_t{1} << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    multiplier = std::uint64_t{1} << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    multiplier = std::uint64_t{1} << 30;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    multiplier = std::uint64_t{1} << 40;
  } else {
    setWhy(why, "unknown unit '" + std::string(config::trim(text.substr(number->length))) +
                    "' (use k, m, g or t, or KiB, MiB, GiB, TiB)");
    return std::nullopt;
  }
  std::uint64_t bytes = 0;
  switch (scale(*number, multiplier, bytes)) {
    case Scaled::kOk:
      return bytes;
    case Scaled::kOverflow:
      setWhy(why, "is too large (at most 2^64 - 1 bytes)");
      return std::nullopt;
    case Scaled::kInexact:
      setWhy(why, "must be a whole number of bytes");
      return std::nullopt;
  }
  return std::nullopt;
}

std::string formatDuration(Duration d) {
  return breaker::formatDuration(d);
}

}  // namespace fairway::proxy
