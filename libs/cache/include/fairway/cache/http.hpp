#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/core/time.hpp>

namespace fairway::cache {

using core::Clock;
using core::Duration;
using core::TimePoint;

// Wall-clock time, for what HTTP expresses in dates: Date, Expires, Last-Modified, and the request
// and response times of RFC 9111 §4.2.3. Never read here; the caller passes it in.
using SystemTime = std::chrono::system_clock::time_point;

// The two clocks a cache decision may need, both read by the caller: `steady` orders and times
// local waits (coalescing deadlines); `wall` is compared with HTTP dates and stored in entries, so
// that an entry means the same in another process (a shared store) or after a restart.
struct Instant {
  TimePoint steady{};
  SystemTime wall{};
};

// A body shared between the stored entry, its copies and every response served from it.
using Body = std::shared_ptr<const std::string>;
Body makeBody(std::string bytes);

// One field line. Names keep the case they arrived in; lookups ignore case (RFC 9110 §5.1).
struct Field {
  std::string name;
  std::string value;
};

// The header section of a message: field lines in order, duplicates kept (RFC 9110 §5.2), with
// case-insensitive lookup. Linear scans: messages have tens of fields, not thousands.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field line.
  void add(std::string name, std::string value);
  // Replaces every line named `name` with one line (appends when there was none).
  void set(std::string_view name, std::string value);
  // Removes every line named `name`; returns how many went.
  std::size_t erase(std::string_view name);

  bool contains(std::string_view name) const;
  // The first line's value, as received.
  std::optional<std::string_view> first(std::string_view name) const;
  // Every line's value joined with ", " (RFC 9110 §5.3), or nullopt when there is no such line.
  std::optional<std::string> combined(std::string_view name) const;
  // How many lines are named `name`.
  std::size_t count(std::string_view name) const;

  const std::vector<Field>& fields() const { return fields_; }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // Bytes of names and values, for size accounting.
  std::size_t byteSize() const;

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// A request as the cache sees it. `uri` is the primary cache key (RFC 9111 §2): the absolute target
// URI, "scheme://authority/path?query", normalised by the caller (lower-case scheme and host,
// default port dropped) so that one resource has one key.
struct Request {
  std::string method = "GET";
  std::string uri;
  Headers headers;
};

// A response: a final status code, its header section and the whole body.
struct Response {
  int status = 200;
  Headers headers;
  Body body;

  // The body's size in bytes (0 without a body).
  std::size_t bodySize() const { return body ? body->size() : 0; }
};

// ASCII case-insensitive equality, for field names, directive names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// Lower-cases ASCII letters.
std::string toLower(std::string_view text);
// Strips optional whitespace (SP, HTAB) at both ends (RFC 9110 §5.6.3).
std::string_view trimOws(std::string_view text);

// RFC 9110 §9.2.1: GET, HEAD, OPTIONS and TRACE are safe; everything else is unsafe (§4.4).
bool isSafeMethod(std::string_view method);

// The origin ("scheme://authority", lower-cased) of an absolute URI, or nullopt when `uri` is not
// absolute.
std::optional<std::string> originOf(std::string_view uri);

// Resolves a URI reference (as in Location or Content-Location) against the absolute `base`
// (RFC 3986 §5.2, without dot-segment removal). Returns nullopt when neither is usable.
std::optional<std::string> resolveReference(std::string_view base, std::string_view reference);

}  // namespace fairway::cache
