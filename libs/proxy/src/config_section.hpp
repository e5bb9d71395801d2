#pragma once

// Reading one section of the configuration tree with typed getters that check syntax and range
// and record problems under the key's full path.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/proxy/config.hpp>

#include "config_tree.hpp"

namespace fairway::proxy::config {

class Problems {
 public:
  void add(std::string key, std::string message) {
    problems_.push_back({std::move(key), std::move(message)});
  }
  void add(ConfigProblem problem) { problems_.push_back(std::move(problem)); }
  bool empty() const { return problems_.empty(); }
  std::size_t size() const { return problems_.size(); }
  std::vector<ConfigProblem> take() { return std::move(problems_); }

 private:
  std::vector<ConfigProblem> problems_;
};

// "(got 30x)", what every range and syntax problem ends with; long values are cut.
std::string got(std::string_view raw);

// "a.b", or "b" when `parent` is the root.
std::string join(const std::string& parent, std::string_view name);

// What durations a key accepts: > 0 or >= 0, and at most `max`.
struct DurationRule {
  bool allowZero = false;
  Duration max = std::chrono::hours(24 * 365);
};
inline constexpr DurationRule kPositiveDuration{};
inline constexpr DurationRule kNonNegativeDuration{.allowZero = true};
// Syntax only: the policy library checks the range.
inline constexpr DurationRule kAnyDuration{.allowZero = true, .max = Duration::max()};

inline constexpr std::int64_t kNoMin = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

// The fields of one map node. Each getter names the key it reads, so finish() can report every
// key nobody asked for ("unknown key; did you mean `interval`?"). A getter returns true when it
// stored a value; when the key is absent, or its value is bad (a problem is recorded), it leaves
// the output untouched, so a bad value never goes on to be reported again by a later check.
class Section {
 public:
  // `node` null: the section is absent and every key reads as absent. A non-empty scalar or a
  // list where a section belongs is a problem (and reads as absent). Keys in `skip` (relative to
  // the section that owns it, `relative` being this section's place in it: "backoff.") read as
  // absent but are still known.
  Section(const Node* node, std::string path, Problems& problems,
          const std::set<std::string>* skip = nullptr, std::string relative = {});
  Section(Section&&) = default;
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  // The section exists in the file (it may be empty).
  bool present() const { return present_; }
  const std::string& path() const { return path_; }
  std::string keyPath(std::string_view key) const { return join(path_, key); }
  Problems& problems() const { return *problems_; }
  void problem(std::string_view key, std::string message) const {
    problems_->add(keyPath(key), std::move(message));
  }

  // The field `key` as it is, or null. Marks the key known.
  const Node* get(std::string_view key);
  // Marks keys known without reading them.
  void known(std::string_view key) { known_.insert(std::string(key)); }
  // The field `key` if it is a scalar; a section or a list there is a problem.
  const Node* scalar(std::string_view key);
  // The sub-section `key` (absent when the key is).
  Section section(std::string_view key);
  // The items of the list `key`: a lone map or scalar counts as a one-item list (XML writes a
  // one-item list as one element). Scalar lists may also be written "502, 503" or "[502, 503]".
  std::optional<std::vector<Node>> list(std::string_view key);

  bool integer(std::string_view key, std::int64_t& out, std::int64_t min = kNoMin,
               std::int64_t max = kNoMax);
  template <typename T>
  bool integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    std::int64_t value = 0;
    if (!integer(key, value, min, max)) {
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }
  // A finite number within [min, max].
  bool number(std::string_view key, double& out, double min = -std::numeric_limits<double>::max(),
              double max = std::numeric_limits<double>::max());
  bool duration(std::string_view key, Duration& out, DurationRule rule);
  bool size(std::string_view key, std::uint64_t& out, std::uint64_t min = 0,
            std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  template <typename T>
  bool size(std::string_view key, T& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t value = 0;
    if (!size(key, value, min, max)) {
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }
  bool flag(std::string_view key, bool& out);
  bool text(std::string_view key, std::string& out);
  // One of `choices`, exactly.
  bool choice(std::string_view key, std::string& out, std::span<const std::string> choices);
  // A 64-bit seed, decimal or 0x-hex.
  bool seed(std::string_view key, std::uint64_t& out);

  // Reports the keys no getter asked for. Call once, after the last getter.
  void finish();

 private:
  const Node* node_;  // null when absent or not a section
  std::string path_;
  Problems* problems_;
  const std::set<std::string>* skip_;
  std::string relative_;
  bool present_;
  std::set<std::string> known_;
};

// A list's items as scalars: a list of scalars, or one scalar "a, b" / "[a, b]" split at commas.
// Problems name the items ("retry.on_statuses[1]").
std::vector<Node> scalarItems(const std::vector<Node>& items, Problems& problems);

}  // namespace fairway::proxy::config
