#pragma once

// The configuration as one tree of maps, lists and scalars, whatever format it came in. POCO's
// AbstractConfiguration only offers keys() and getRawString(); each format shows lists its own
// way, and buildTree() hides that:
//   MapConfiguration (YAML, .properties, .ini): keys `backends[0].url`, `backends[1].url`;
//   .ini sections `[backends[1]]`, which POCO cuts at the first ']' into `backends[1`;
//   JSONConfiguration: `backends` has no keys, its raw value is the array's JSON text, and the
//   items are reached as `backends[0]`, `backends[1]`, ...;
//   XMLConfiguration: repeated elements enumerate as `backends`, `backends[1]`, `backends[2]`.

#include <string>
#include <string_view>
#include <vector>

#include <fairway/proxy/config.hpp>

namespace Poco::Util {
class AbstractConfiguration;
}

namespace fairway::proxy::config {

// The one problem of a file with no settings at all.
inline constexpr std::string_view kEmptyMessage =
    "the configuration is empty: it needs at least `backends` (or `upstreams`)";

struct Node {
  enum class Kind { kScalar, kMap, kList };

  Kind kind = Kind::kScalar;
  std::string name;            // the key within its map ("url"); empty for list items and the root
  std::string path;            // the key as problems name it: "upstreams.api.backends[0].url"
  std::string value;           // kScalar: the text as written
  std::vector<Node> children;  // kMap: fields in key order; kList: items

  bool isScalar() const { return kind == Kind::kScalar; }
  bool isMap() const { return kind == Kind::kMap; }
  bool isList() const { return kind == Kind::kList; }
  // An empty scalar, map or list: `breaker: {}`, `breaker:` (YAML), `<breaker/>` (XML).
  bool empty() const;
  // The map field `name`, or null.
  const Node* field(std::string_view name) const;
  // The node at `relative` ("backoff.multiplier", "expected_statuses[0]"), or null.
  const Node* find(std::string_view relative) const;
};

// Builds the tree of `conf`; the root is a map, empty when `conf` has no keys. Shapes that are
// no tree (list indices with gaps) become problems. May throw what POCO throws.
Node buildTree(const Poco::Util::AbstractConfiguration& conf, std::vector<ConfigProblem>& problems);

// `node`'s subtree with every path under `node.path` rewritten under `path` (an XML element
// given once where a list is expected becomes item `backends[0]`).
Node repath(Node node, const std::string& path);

}  // namespace fairway::proxy::config
