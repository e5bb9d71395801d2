#include "config_tree.hpp"

#include <map>
#include <optional>

#include <Poco/Util/AbstractConfiguration.h>

#include "config_values.hpp"

namespace fairway::proxy::config {
namespace {

constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxItems = 100'000;
constexpr std::size_t kMaxNodes = 25'000;

std::string join(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string indexed(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// "backends[3]" -> backends, 3. Also "backends[3", what POCO's .ini reader makes of a section
// header `[backends[3]]`.
struct Segment {
  std::string name;
  std::optional<std::size_t> index;
};

Segment splitSegment(std::string_view segment) {
  const std::size_t open = segment.rfind('[');
  if (open == std::string_view::npos || open == 0) {
    return {std::string(segment), std::nullopt};
  }
  std::string_view digits = segment.substr(open + 1);
  if (!digits.empty() && digits.back() == ']') {
    digits.remove_suffix(1);
  }
  if (digits.empty() || digits.size() > 6 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return {std::string(segment), std::nullopt};
  }
  return {std::string(segment.substr(0, open)),
          static_cast<std::size_t>(std::stoul(std::string(digits)))};
}

class Builder {
 public:
  Builder(const Poco::Util::AbstractConfiguration& conf, std::vector<ConfigProblem>& problems)
      : conf_(conf), problems_(problems) {}

  Node build(const std::string& key, const std::string& path, int depth) {
    // Each keys() call may scan every key (MapConfiguration): bound the work.
    if (++nodes_ > kMaxNodes) {
      if (nodes_ == kMaxNodes + 1) {
        problems_.push_back({path, "the configuration has more than " + std::to_string(kMaxNodes) +
                                       " keys; reading stops here"});
      }
      return Node{};
    }
    if (depth > kMaxDepth) {
      problems_.push_back({path, "nested more than " + std::to_string(kMaxDepth) + " levels deep"});
      return Node{};
    }
    Poco::Util::AbstractConfiguration::Keys keys;
    conf_.keys(key, keys);
    if (!keys.empty()) {
      return buildMap(key, path, keys, depth);
    }
    return buildLeaf(key, path, depth);
  }

 private:
  Node buildMap(const std::string& key, const std::string& path,
                const Poco::Util::AbstractConfiguration::Keys& keys, int depth) {
    struct Group {
      std::string name;
      std::optional<std::string> plain;          // the POCO key of `name`
      std::map<std::size_t, std::string> items;  // index -> the POCO key of `name[index]`
    };
    std::vector<Group> groups;
    const auto group = [&groups](const std::string& name) -> Group& {
      for (Group& g : groups) {
        if (g.name == name) {
          return g;
        }
      }
      return groups.emplace_back(Group{name, std::nullopt, {}});
    };
    for (const std::string& segment : keys) {
      const std::string childKey = join(key, segment);
      if (segment == "]") {
        // The rest of an .ini section header `[backends[1]]` after POCO's cut: no key.
        Poco::Util::AbstractConfiguration::Keys under;
        conf_.keys(childKey, under);
        if (under.empty() && trim(conf_.getRawString(childKey, "")).empty()) {
          continue;
        }
      }
      Segment s = splitSegment(segment);
      Group& g = group(s.name);
      if (s.index) {
        g.items.emplace(*s.index, childKey);
      } else {
        g.plain = childKey;
      }
    }

    Node node;
    node.kind = Node::Kind::kMap;
    node.path = path;
    for (Group& g : groups) {
      const std::string childPath = join(path, g.name);
      if (g.items.empty()) {
        Node child = build(*g.plain, childPath, depth + 1);
        child.name = g.name;
        node.children.push_back(std::move(child));
        continue;
      }
      if (g.plain) {
        // XML: the first of several equal elements enumerates without an index.
        if (!g.items.emplace(0, *g.plain).second) {
          problems_.push_back(
              {childPath, "given both as `" + g.name + "` and `" + g.name + "[0]`; use one list"});
        }
      }
      Node list;
      list.kind = Node::Kind::kList;
      list.name = g.name;
      list.path = childPath;
      std::size_t expected = 0;
      for (const auto& [index, itemKey] : g.items) {
        if (index != expected) {
          problems_.push_back({indexed(childPath, expected),
                               "missing: list items are numbered 0, 1, 2, ... without gaps (next "
                               "given is [" +
                                   std::to_string(index) + "])"});
        }
        expected = index + 1;
        list.children.push_back(build(itemKey, indexed(childPath, index), depth + 1));
      }
      node.children.push_back(std::move(list));
    }
    return node;
  }

  Node buildLeaf(const std::string& key, const std::string& path, int depth) {
    Node node;
    node.path = path;
    if (!conf_.has(key)) {
      node.kind = key.empty() ? Node::Kind::kMap : Node::Kind::kScalar;
      return node;
    }
    const std::string raw = conf_.getRawString(key);
    const std::string_view text = trim(raw);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
      if (trim(text.substr(1, text.size() - 2)).empty()) {
        node.kind = Node::Kind::kList;  // JSON []
        return node;
      }
      // A JSON array: POCO reaches its items as key[0], key[1], ... (XML answers key[0] with
      // the element itself, which the comparison tells apart).
      const std::string first = key + "[0]";
      if (conf_.has(first) && conf_.getRawString(first) != raw) {
        node.kind = Node::Kind::kList;
        for (std::size_t i = 0; i < kMaxItems; ++i) {
          const std::string itemKey = indexed(key, i);
          if (nodes_ > kMaxNodes || !conf_.has(itemKey)) {
            break;
          }
          node.children.push_back(build(itemKey, indexed(path, i), depth + 1));
        }
        return node;
      }
    }
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}' &&
        trim(text.substr(1, text.size() - 2)).empty()) {
      node.kind = Node::Kind::kMap;  // JSON {}
      return node;
    }
    // .ini and .properties keep quotes as part of the value; `path = "/health"` means /health.
    if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
        text.back() == text.front()) {
      node.value = std::string(text.substr(1, text.size() - 2));
    } else {
      node.value = raw;
    }
    return node;
  }

  const Poco::Util::AbstractConfiguration& conf_;
  std::vector<ConfigProblem>& problems_;
  std::size_t nodes_ = 0;
};

void repathInto(Node& node, const std::string& from, const std::string& to) {
  if (node.path.compare(0, from.size(), from) == 0) {
    node.path = to + node.path.substr(from.size());
  }
  for (Node& child : node.children) {
    repathInto(child, from, to);
  }
}

}  // namespace

bool Node::empty() const {
  return isScalar() ? trim(value).empty() : children.empty();
}

const Node* Node::field(std::string_view fieldName) const {
  if (!isMap()) {
    return nullptr;
  }
  for (const Node& child : children) {
    if (child.name == fieldName) {
      return &child;
    }
  }
  return nullptr;
}

const Node* Node::find(std::string_view relative) const {
  const Node* node = this;
  while (node != nullptr && !relative.empty()) {
    const std::size_t dot = relative.find('.');
    const std::string_view part = relative.substr(0, dot);
    relative = dot == std::string_view::npos ? std::string_view{} : relative.substr(dot + 1);
    Segment s = splitSegment(part);
    node = node->field(s.name);
    if (node != nullptr && s.index) {
      node =
          node->isList() && *s.index < node->children.size() ? &node->children[*s.index] : nullptr;
    }
  }
  return node;
}

Node buildTree(const Poco::Util::AbstractConfiguration& conf,
               std::vector<ConfigProblem>& problems) {
  Builder builder(conf, problems);
  Node root = builder.build("", "", 0);
  if (root.isScalar() && root.empty()) {
    root.kind = Node::Kind::kMap;  // an empty XML document element
  }
  if (!root.isMap()) {
    // A document that is a single value: no sections at all.
    problems.push_back({"",
                        "the top level must hold sections (server, backends, ...), not a "
                        "single value"});
    return Node{Node::Kind::kMap, "", "", "", {}};
  }
  return root;
}

Node repath(Node node, const std::string& path) {
  const std::string from = node.path;
  repathInto(node, from, path);
  return node;
}

}  // namespace fairway::proxy::config
