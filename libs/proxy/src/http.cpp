#include "http.hpp"

#include <array>

namespace fairway::proxy {

namespace {
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

void HeaderBlock::appendName(const char* data, std::size_t size) {
  if (!partName_) {
    fields_.push_back({static_cast<std::uint32_t>(arena_.size()), 0, 0, 0});
    partName_ = true;
  }
  arena_.append(data, size);
  fields_.back().nameSize += static_cast<std::uint32_t>(size);
}

void HeaderBlock::appendValue(const char* data, std::size_t size) {
  if (partName_) {
    fields_.back().valueOffset = static_cast<std::uint32_t>(arena_.size());
    partName_ = false;
  }
  arena_.append(data, size);
  fields_.back().valueSize += static_cast<std::uint32_t>(size);
}

void HeaderBlock::endValue() {
  if (fields_.empty()) {
    return;
  }
  Field& field = fields_.back();
  if (partName_) {  // a field with an empty value: llhttp sends no value callback
    field.valueOffset = static_cast<std::uint32_t>(arena_.size());
    partName_ = false;
  }
  while (field.valueSize > 0 && (arena_[field.valueOffset + field.valueSize - 1] == ' ' ||
                                 arena_[field.valueOffset + field.valueSize - 1] == '\t')) {
    --field.valueSize;
  }
  while (field.valueSize > 0 &&
         (arena_[field.valueOffset] == ' ' || arena_[field.valueOffset] == '\t')) {
    ++field.valueOffset;
    --field.valueSize;
  }
}

std::size_t HeaderBlock::find(std::string_view name, std::size_t from) const {
  for (std::size_t i = from; i < fields_.size(); ++i) {
    if (equalsIgnoreCase(this->name(i), name)) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::size_t HeaderBlock::count(std::string_view name) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    n += equalsIgnoreCase(this->name(i), name) ? 1 : 0;
  }
  return n;
}

bool isHopByHop(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kHopByHop = {
      "connection", "keep-alive",        "proxy-connection", "te",
      "trailer",    "transfer-encoding", "upgrade",          "proxy-authenticate"};
  for (std::string_view hop : kHopByHop) {
    if (equalsIgnoreCase(name, hop)) {
      return true;
    }
  }
  return false;
}

bool listContains(std::string_view list, std::string_view token) {
  bool found = false;
  forEachToken(
      list, [&](std::string_view element) { found = found || equalsIgnoreCase(element, token); });
  return found;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void appendHex(std::string& out, std::uint64_t value) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value & 0xf];
    value >>= 4;
  } while (value != 0);
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

void appendDecimal(std::string& out, std::uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

}  // namespace fairway::proxy
