#include <algorithm>
#include <utility>

#include <fairway/cache/http.hpp>

namespace fairway::cache {
namespace {

char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

Body makeBody(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = lowerAscii(c);
  }
  return out;
}

std::string_view trimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

void Headers::add(std::string name, std::string value) {
  fields_.push_back({std::move(name), std::move(value)});
}

void Headers::set(std::string_view name, std::string value) {
  std::vector<Field> kept;
  kept.reserve(fields_.size() + 1);
  bool placed = false;
  for (Field& f : fields_) {
    if (!equalsIgnoreCase(f.name, name)) {
      kept.push_back(std::move(f));
    } else if (!placed) {  // the first line keeps its place and the name's original case
      f.value = std::move(value);
      kept.push_back(std::move(f));
      placed = true;
    }
  }
  if (!placed) {
    kept.push_back({std::string(name), std::move(value)});
  }
  fields_ = std::move(kept);
}

std::size_t Headers::erase(std::string_view name) {
  return std::erase_if(fields_, [&](const Field& f) { return equalsIgnoreCase(f.name, name); });
}

bool Headers::contains(std::string_view name) const {
  return first(name).has_value();
}

std::optional<std::string_view> Headers::first(std::string_view name) const {
  for (const Field& f : fields_) {
    if (equalsIgnoreCase(f.name, name)) {
      return std::string_view(f.value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Headers::combined(std::string_view name) const {
  std::optional<std::string> out;
  for (const Field& f : fields_) {
    if (!equalsIgnoreCase(f.name, name)) {
      continue;
    }
    if (!out) {
      out = f.value;
    } else {
      *out += ", ";
      *out += f.value;
    }
  }
  return out;
}

std::size_t Headers::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(fields_.begin(), fields_.end(),
                    [&](const Field& f) { return equalsIgnoreCase(f.name, name); }));
}

std::size_t Headers::byteSize() const {
  std::size_t bytes = 0;
  for (const Field& f : fields_) {
    bytes += f.name.size() + f.value.size();
  }
  return bytes;
}

bool isSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

namespace {

// Splits an absolute URI into "scheme://authority" and the rest ("/path?query", possibly empty).
std::optional<std::pair<std::string_view, std::string_view>> splitOrigin(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || uri.substr(colon, 3) != "://") {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = uri[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) {
      return std::nullopt;
    }
  }
  const std::size_t authorityStart = colon + 3;
  std::size_t end = uri.find_first_of("/?#", authorityStart);
  if (end == std::string_view::npos) {
    end = uri.size();
  }
  if (end == authorityStart) {
    return std::nullopt;
  }
  return std::pair{uri.substr(0, end), uri.substr(end)};
}

}  // namespace

std::optional<std::string> originOf(std::string_view uri) {
  auto parts = splitOrigin(uri);
  if (!parts) {
    return std::nullopt;
  }
  return toLower(parts->first);
}

std::optional<std::string> resolveReference(std::string_view base, std::string_view reference) {
  reference = trimOws(reference);
  if (const auto hash = reference.find('#'); hash != std::string_view::npos) {
    reference = reference.substr(0, hash);
  }
  if (splitOrigin(reference)) {
    return std::string(reference);
  }
  auto parts = splitOrigin(base);
  if (!parts || reference.empty()) {
    return std::nullopt;
  }
  const std::string_view origin = parts->first;
  std::string_view basePath = parts->second;
  if (reference.starts_with("//")) {  // network-path reference: keeps only the scheme
    return std::string(origin.substr(0, origin.find(':') + 1)) + std::string(reference);
  }
  if (reference.front() == '/') {
    return std::string(origin) + std::string(reference);
  }
  if (const auto q = basePath.find_first_of("?#"); q != std::string_view::npos) {
    basePath = basePath.substr(0, q);
  }
  if (reference.front() == '?') {
    return std::string(origin) + std::string(basePath.empty() ? "/" : basePath) +
           std::string(reference);
  }
  // Relative path: merge with the base path's directory (RFC 3986 §5.2.3).
  const auto slash = basePath.rfind('/');
  const std::string_view directory =
      slash == std::string_view::npos ? std::string_view("/") : basePath.substr(0, slash + 1);
  return std::string(origin) + std::string(directory) + std::string(reference);
}

}  // namespace fairway::cache
