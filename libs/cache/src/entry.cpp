#include <utility>

#include <fairway/cache/entry.hpp>

namespace fairway::cache {

Entry::Entry(std::string key, std::string secondaryKey, Response response, SystemTime requestTime,
             SystemTime responseTime, std::vector<std::string> tags)
    : key_(std::move(key)),
      secondaryKey_(std::move(secondaryKey)),
      response_(std::move(response)),
      requestTime_(requestTime),
      responseTime_(responseTime),
      tags_(std::move(tags)) {
  const Headers& h = response_.headers;
  if (auto cc = h.combined("Cache-Control")) {
    directives_ = parseResponseDirectives(*cc);
  }
  if (auto vary = h.combined("Vary")) {
    vary_ = parseVary(*vary);
  }
  // Dates are parsed against the response time: it places RFC 850 two-digit years.
  const auto date = h.first("Date");
  const auto parsedDate = date ? parseHttpDate(*date, responseTime_) : std::nullopt;
  date_ = parsedDate.value_or(std::chrono::floor<std::chrono::seconds>(responseTime_));
  if (auto expires = h.first("Expires")) {
    // §5.3: an invalid Expires, "0" especially, is a time in the past.
    expires_ = parseHttpDate(*expires, responseTime_).value_or(HttpDate::min());
  }
  if (auto lastModified = h.first("Last-Modified")) {
    lastModified_ = parseHttpDate(*lastModified, responseTime_);
  }
  if (auto age = h.first("Age")) {
    ageValue_ = parseDeltaSeconds(trimOws(*age)).value_or(0);
  }
  if (auto etag = h.first("ETag")) {
    etag_ = parseEntityTag(*etag);
  }
  charge_ = sizeof(Entry) + key_.size() + secondaryKey_.size() + h.byteSize() +
            h.size() * sizeof(Field) + response_.bodySize();
  for (const std::string& tag : tags_) {
    charge_ += sizeof(std::string) + tag.size();
  }
}

namespace {

constexpr std::string_view kMagic = "FWC1";
// Bounds a decoder enforces on untrusted input, beyond "fits in what is left".
constexpr std::uint32_t kMaxFields = 1 << 16;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  void i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) {
      u8(static_cast<std::uint8_t>(u >> (8 * i)));
    }
  }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }
  void reserve(std::size_t n) { out_.reserve(n); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

  std::uint8_t u8() {
    if (!need(1)) {
      return 0;
    }
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v |= static_cast<std::uint32_t>(u8()) << (8 * i);
    }
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<std::uint64_t>(u8()) << (8 * i);
    }
    return static_cast<std::int64_t>(v);
  }
  std::string str() {
    const std::uint32_t n = u32();
    if (!need(n)) {
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Error corrupt(const std::string& why) {
  return Error{ErrorCode::kCorrupt, "cache entry: " + why};
}

}  // namespace

std::string encodeEntry(const Entry& entry) {
  Writer w;
  w.reserve(entry.charge());
  w.str(kMagic);
  w.i64(entry.requestTime().time_since_epoch().count());
  w.i64(entry.responseTime().time_since_epoch().count());
  w.u32(static_cast<std::uint32_t>(entry.response().status));
  w.str(entry.key());
  w.str(entry.secondaryKey());
  w.u32(static_cast<std::uint32_t>(entry.response().headers.size()));
  for (const Field& f : entry.response().headers) {
    w.str(f.name);
    w.str(f.value);
  }
  w.u8(entry.response().body ? 1 : 0);
  w.str(entry.response().body ? std::string_view(*entry.response().body) : std::string_view());
  w.u32(static_cast<std::uint32_t>(entry.tags().size()));
  for (const std::string& tag : entry.tags()) {
    w.str(tag);
  }
  return w.take();
}

Result<EntryPtr> decodeEntry(std::string_view bytes) {
  Reader r(bytes);
  if (r.str() != kMagic || !r.ok()) {
    return corrupt("not an encoded entry (bad magic or version)");
  }
  const SystemTime requestTime{SystemTime::duration(r.i64())};
  const SystemTime responseTime{SystemTime::duration(r.i64())};
  Response response;
  const std::uint32_t status = r.u32();
  if (status < 100 || status > 999) {
    return corrupt("status " + std::to_string(status) + " is not in [100, 999]");
  }
  response.status = static_cast<int>(status);
  std::string key = r.str();
  std::string secondaryKey = r.str();
  const std::uint32_t fields = r.u32();
  if (!r.ok() || fields > kMaxFields) {
    return corrupt("truncated, or too many header fields");
  }
  for (std::uint32_t i = 0; i < fields && r.ok(); ++i) {
    std::string name = r.str();
    std::string value = r.str();
    response.headers.add(std::move(name), std::move(value));
  }
  const bool hasBody = r.u8() != 0;
  std::string body = r.str();
  if (hasBody) {
    response.body = makeBody(std::move(body));
  }
  const std::uint32_t tagCount = r.u32();
  if (!r.ok() || tagCount > kMaxFields) {
    return corrupt("truncated, or too many tags");
  }
  std::vector<std::string> tags;
  for (std::uint32_t i = 0; i < tagCount && r.ok(); ++i) {
    tags.push_back(r.str());
  }
  if (!r.done()) {
    return corrupt(r.ok() ? "trailing bytes" : "truncated");
  }
  return std::make_shared<const Entry>(std::move(key), std::move(secondaryKey), std::move(response),
                                       requestTime, responseTime, std::move(tags));
}

}  // namespace fairway::cache
