#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fairway::proxy {

// ASCII case-insensitive equality, as field names and tokens compare (RFC 9110 §5.1).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// The fields of one message head, stored in one arena so a reused HeaderBlock allocates nothing
// once warm. Names and values are kept as received (values with surrounding whitespace trimmed).
class HeaderBlock {
 public:
  struct Field {
    std::uint32_t nameOffset, nameSize, valueOffset, valueSize;
  };

  void clear() {
    arena_.clear();
    fields_.clear();
    partName_ = false;
  }
  // Empty, and gives its storage back.
  void release() {
    clear();
    std::string().swap(arena_);
    std::vector<Field>().swap(fields_);
  }
  // Streaming input from llhttp: a field name or value may arrive in several pieces.
  void appendName(const char* data, std::size_t size);
  void appendValue(const char* data, std::size_t size);
  // Ends the current value (trims it).
  void endValue();

  std::size_t size() const { return fields_.size(); }
  std::size_t bytes() const { return arena_.size(); }
  std::string_view name(std::size_t i) const {
    return {arena_.data() + fields_[i].nameOffset, fields_[i].nameSize};
  }
  std::string_view value(std::size_t i) const {
    return {arena_.data() + fields_[i].valueOffset, fields_[i].valueSize};
  }
  // The first field named `name`, or npos.
  std::size_t find(std::string_view name, std::size_t from = 0) const;
  std::size_t count(std::string_view name) const;

 private:
  std::string arena_;
  std::vector<Field> fields_;
  bool partName_ = false;  // the last piece appended was part of a name
};

// Hop-by-hop fields (RFC 9110 §7.6.1): never forwarded, nor those the Connection field names.
bool isHopByHop(std::string_view name);

// True if the comma-separated token list `list` (a Connection or Transfer-Encoding value)
// contains `token`, case-insensitively.
bool listContains(std::string_view list, std::string_view token);

// Calls f(token) for each non-empty element of a comma-separated list, trimmed.
template <typename F>
void forEachToken(std::string_view list, F&& f) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) {
      comma = list.size();
    }
    std::string_view token = list.substr(start, comma - start);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
      token.remove_prefix(1);
    }
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
      token.remove_suffix(1);
    }
    if (!token.empty()) {
      f(token);
    }
    start = comma + 1;
  }
}

// Standard reason phrases for the statuses the proxy generates itself.
std::string_view reasonPhrase(int status);

// Appends `value` in lower-case hex (chunk sizes).
void appendHex(std::string& out, std::uint64_t value);
void appendDecimal(std::string& out, std::uint64_t value);

// A byte queue with a read offset: append at the back, consume from the front, no memmove per
// consume. Keeps its capacity (and gives it back with release() when it is large and empty).
class Buffer {
 public:
  std::size_t size() const { return data_.size() - start_; }
  bool empty() const { return size() == 0; }
  const char* data() const { return data_.data() + start_; }
  void append(std::string_view bytes) { data_.append(bytes); }
  void append(const char* bytes, std::size_t size) { data_.append(bytes, size); }
  std::string& raw() { return data_; }  // for appending formatted data at the back
  void consume(std::size_t n) {
    start_ += n;
    if (start_ == data_.size()) {
      data_.clear();
      start_ = 0;
    } else if (start_ > 64 * 1024 && start_ * 2 > data_.size()) {
      data_.erase(0, start_);
      start_ = 0;
    }
  }
  void clear() {
    data_.clear();
    start_ = 0;
  }
  // Frees the storage of an empty buffer that grew large (an idle connection keeps nothing big).
  void trim() {
    if (empty() && data_.capacity() > 16 * 1024) {
      release();
    }
  }
  // Frees the storage of an empty buffer, whatever its size.
  void release() {
    if (empty()) {
      std::string().swap(data_);
      start_ = 0;
    }
  }

 private:
  std::string data_;
  std::size_t start_ = 0;
};

}  // namespace fairway::proxy
