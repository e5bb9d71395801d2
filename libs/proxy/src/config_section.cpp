#include "config_section.hpp"

#include <vector>

#include <fairway/proxy/config_loader.hpp>

#include "config_values.hpp"

namespace fairway::proxy::config {

std::string got(std::string_view raw) {
  constexpr std::size_t kMaxShown = 60;
  raw = trim(raw);
  if (raw.empty()) {
    return "(got \"\")";
  }
  if (raw.size() > kMaxShown) {
    return "(got " + std::string(raw.substr(0, kMaxShown)) + "...)";
  }
  return "(got " + std::string(raw) + ")";
}

std::string join(const std::string& parent, std::string_view name) {
  if (name.empty()) {
    return parent;
  }
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

namespace {

const char* kindName(const Node& node) {
  return node.isList() ? "a list" : "a section";
}

std::string rangeText(std::int64_t value, std::int64_t min, std::int64_t max) {
  if (value < min) {
    return "must be >= " + std::to_string(min) + " (got " + std::to_string(value) + ")";
  }
  return "must be <= " + std::to_string(max) + " (got " + std::to_string(value) + ")";
}

}  // namespace

Section::Section(const Node* node, std::string path, Problems& problems,
                 const std::set<std::string>* skip, std::string relative)
    : node_(node),
      path_(std::move(path)),
      problems_(&problems),
      skip_(skip),
      relative_(std::move(relative)),
      present_(node != nullptr) {
  if (node_ == nullptr || node_->isMap()) {
    return;
  }
  if (!node_->empty()) {
    problems_->add(path_, node_->isList() ? "must be a section with keys, not a list"
                                          : "must be a section with keys " + got(node_->value));
  }
  node_ = nullptr;  // an empty scalar or list: a present, empty section
}

const Node* Section::get(std::string_view key) {
  known_.insert(std::string(key));
  if (node_ == nullptr) {
    return nullptr;
  }
  if (skip_ != nullptr && skip_->contains(relative_ + std::string(key))) {
    return nullptr;
  }
  return node_->field(key);
}

const Node* Section::scalar(std::string_view key) {
  const Node* node = get(key);
  if (node == nullptr) {
    return nullptr;
  }
  if (!node->isScalar()) {
    problems_->add(node->path, std::string("must be a single value, not ") + kindName(*node));
    return nullptr;
  }
  return node;
}

Section Section::section(std::string_view key) {
  const Node* node = get(key);
  return Section(node, keyPath(key), *problems_, skip_, relative_ + std::string(key) + ".");
}

std::optional<std::vector<Node>> Section::list(std::string_view key) {
  const Node* node = get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  if (node->isList()) {
    return node->children;
  }
  if (node->empty()) {
    return std::vector<Node>{};
  }
  return std::vector<Node>{repath(*node, node->path + "[0]")};
}

bool Section::integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  const auto value = parseInteger(node->value);
  if (!value) {
    problems_->add(node->path, "must be a whole number " + got(node->value));
    return false;
  }
  if (*value < min || *value > max) {
    problems_->add(node->path, rangeText(*value, min, max));
    return false;
  }
  out = *value;
  return true;
}

bool Section::number(std::string_view key, double& out, double min, double max) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  const auto value = parseNumber(node->value);
  if (!value) {
    problems_->add(node->path, "must be a number " + got(node->value));
    return false;
  }
  if (*value < min) {
    problems_->add(node->path, "must be >= " + formatNumber(min) + " " + got(node->value));
    return false;
  }
  if (*value > max) {
    problems_->add(node->path, "must be <= " + formatNumber(max) + " " + got(node->value));
    return false;
  }
  out = *value;
  return true;
}

bool Section::duration(std::string_view key, Duration& out, DurationRule rule) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  std::string why;
  const auto value = parseDuration(node->value, &why);
  if (!value) {
    problems_->add(node->path, why + " " + got(node->value));
    return false;
  }
  if (!rule.allowZero && value->count() == 0) {
    problems_->add(node->path, "must be > 0 " + got(node->value));
    return false;
  }
  if (*value > rule.max) {
    problems_->add(node->path,
                   "must be at most " + formatDuration(rule.max) + " " + got(node->value));
    return false;
  }
  out = *value;
  return true;
}

bool Section::size(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  std::string why;
  const auto value = parseSize(node->value, &why);
  if (!value) {
    problems_->add(node->path, why + " " + got(node->value));
    return false;
  }
  if (*value < min) {
    problems_->add(node->path, "must be >= " + std::to_string(min) + " bytes " + got(node->value));
    return false;
  }
  if (*value > max) {
    problems_->add(node->path, "must be <= " + std::to_string(max) + " bytes " + got(node->value));
    return false;
  }
  out = *value;
  return true;
}

bool Section::flag(std::string_view key, bool& out) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  const auto value = parseBool(node->value);
  if (!value) {
    problems_->add(node->path, "must be true or false " + got(node->value));
    return false;
  }
  out = *value;
  return true;
}

bool Section::text(std::string_view key, std::string& out) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  out = std::string(trim(node->value));
  return true;
}

bool Section::choice(std::string_view key, std::string& out, std::span<const std::string> choices) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  const std::string value(trim(node->value));
  for (const std::string& c : choices) {
    if (value == c) {
      out = value;
      return true;
    }
  }
  std::string list;
  for (const std::string& c : choices) {
    list += (list.empty() ? "" : ", ") + c;
  }
  std::string message = "must be one of " + list + " " + got(node->value);
  if (const auto suggestion = closest(value, choices)) {
    message += "; did you mean `" + *suggestion + "`?";
  }
  problems_->add(node->path, std::move(message));
  return false;
}

bool Section::seed(std::string_view key, std::uint64_t& out) {
  const Node* node = scalar(key);
  if (node == nullptr) {
    return false;
  }
  const auto value = parseUnsigned(node->value);
  if (!value) {
    problems_->add(node->path, "must be a whole number from 0 to 2^64 - 1 (decimal or 0x...) " +
                                   got(node->value));
    return false;
  }
  out = *value;
  return true;
}

void Section::finish() {
  if (node_ == nullptr) {
    return;
  }
  const std::vector<std::string> candidates(known_.begin(), known_.end());
  std::string list;
  for (const std::string& c : candidates) {
    list += (list.empty() ? "" : ", ") + c;
  }
  for (const Node& child : node_->children) {
    if (known_.contains(child.name)) {
      continue;
    }
    std::string message = "unknown key";
    if (const auto suggestion = closest(child.name, candidates)) {
      message += "; did you mean `" + *suggestion + "`?";
    } else if (!candidates.empty()) {
      message += " (known here: " + list + ")";
    }
    problems_->add(child.path, std::move(message));
  }
  known_.clear();
  node_ = nullptr;
}

std::vector<Node> scalarItems(const std::vector<Node>& items, Problems& problems) {
  std::vector<Node> out;
  for (const Node& item : items) {
    if (!item.isScalar()) {
      problems.add(item.path, std::string("must be a single value, not ") + kindName(item));
      continue;
    }
    std::string_view text = trim(item.value);
    if (items.size() == 1 && text.size() >= 2 && text.front() == '[' && text.back() == ']') {
      text = trim(text.substr(1, text.size() - 2));
      if (text.empty()) {
        continue;  // "[]"
      }
    }
    if (items.size() == 1 && text.find(',') != std::string_view::npos) {
      // "502, 503": one scalar holding the whole list (.properties, .ini, one XML element).
      std::string base = item.path;
      if (base.size() > 3 && base.ends_with("[0]")) {
        base.resize(base.size() - 3);
      }
      std::size_t index = 0;
      while (true) {
        const std::size_t comma = text.find(',');
        Node part;
        part.path = base + "[" + std::to_string(index++) + "]";
        part.value = std::string(trim(text.substr(0, comma)));
        out.push_back(std::move(part));
        if (comma == std::string_view::npos) {
          break;
        }
        text.remove_prefix(comma + 1);
      }
      continue;
    }
    Node copy = item;
    copy.value = std::string(text);
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace fairway::proxy::config
