#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/cache/http.hpp>
#include <fairway/cache/parsing.hpp>
#include <fairway/cache/status.hpp>

namespace fairway::cache {

// One stored response (RFC 9111 §3): the response as stored, the times of the exchange that
// produced it (§4.2.3 request_time and response_time, wall clock) and its secondary key (§4.1).
// Immutable once built, and shared as `EntryPtr` by stores, lookups and in-flight responses:
// freshening after a 304 builds a new Entry.
//
// The constructor parses what every later decision needs (Cache-Control, Date, Expires,
// Last-Modified, Age, ETag, Vary) once, so a cache hit parses nothing. It does not judge: whether
// a response may be stored is Policy::storability()'s business, and Policy::makeEntry() is the
// usual way to build one.
class Entry {
 public:
  Entry(std::string key, std::string secondaryKey, Response response, SystemTime requestTime,
        SystemTime responseTime, std::vector<std::string> tags = {});

  // The primary cache key: the request URI.
  const std::string& key() const { return key_; }
  // The selecting request header values (see Policy::secondaryKey); "" when the response has no
  // Vary.
  const std::string& secondaryKey() const { return secondaryKey_; }
  const Response& response() const { return response_; }
  SystemTime requestTime() const { return requestTime_; }
  SystemTime responseTime() const { return responseTime_; }
  // Purge tags (from the configured tag header, e.g. Surrogate-Key).
  const std::vector<std::string>& tags() const { return tags_; }

  // Derived from the response.
  const ResponseDirectives& directives() const { return directives_; }
  const VaryFields& vary() const { return vary_; }
  // date_value (§4.2.3): the Date header, or the response time when it is missing or invalid
  // (RFC 9110 §6.6.1).
  HttpDate date() const { return date_; }
  // Expires, when present: a present but invalid value (e.g. "0") is a date in the past (§5.3).
  std::optional<HttpDate> expires() const { return expires_; }
  std::optional<HttpDate> lastModified() const { return lastModified_; }
  // age_value (§4.2.3): the Age header in seconds, 0 when absent or invalid.
  std::int64_t ageValue() const { return ageValue_; }
  const std::optional<EntityTag>& etag() const { return etag_; }
  bool hasValidator() const { return etag_.has_value() || lastModified_.has_value(); }

  // Bytes this entry is charged in a store: key, headers, body and a fixed per-entry cost.
  std::size_t charge() const { return charge_; }

 private:
  std::string key_;
  std::string secondaryKey_;
  Response response_;
  SystemTime requestTime_;
  SystemTime responseTime_;
  std::vector<std::string> tags_;

  ResponseDirectives directives_;
  VaryFields vary_;
  HttpDate date_;
  std::optional<HttpDate> expires_;
  std::optional<HttpDate> lastModified_;
  std::int64_t ageValue_ = 0;
  std::optional<EntityTag> etag_;
  std::size_t charge_ = 0;
};

using EntryPtr = std::shared_ptr<const Entry>;
// Every response stored under one primary key, one per secondary key (RFC 9111 §4.1). Immutable:
// a store replaces the whole set.
using Variants = std::vector<EntryPtr>;
using VariantsPtr = std::shared_ptr<const Variants>;

// A self-contained byte form of an entry, for stores outside the process (Redis): versioned,
// length-prefixed, little-endian. decodeEntry() treats its input as untrusted: truncated,
// oversized or unknown-version bytes are kCorrupt, never a crash.
std::string encodeEntry(const Entry& entry);
Result<EntryPtr> decodeEntry(std::string_view bytes);

}  // namespace fairway::cache
