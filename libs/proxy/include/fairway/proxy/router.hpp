#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fairway::proxy {

// Host + longest path prefix -> a target index (the proxy's upstream group). Prefixes match as
// raw bytes, as nginx's prefix locations do ("/api" matches "/api/v1" and "/apix"). A route whose
// host is "" or "*" serves every host; a host's own routes are tried first, then those.
//
// Lookup walks a byte trie along the path: O(length of the path), independent of the number of
// routes, with no allocation. Immutable after build: safe to share between threads.
class Router {
 public:
  struct Route {
    std::string host;  // "" or "*" for any; compared case-insensitively, without a port
    std::string pathPrefix;
    std::size_t target = 0;
  };

  // Later duplicates of a (host, prefix) pair are ignored; the config loader reports them.
  explicit Router(const std::vector<Route>& routes);

  // The target for a request, or nullopt (no route: 404). `host` is the Host field as sent
  // (port and case are handled here).
  std::optional<std::size_t> match(std::string_view host, std::string_view path) const;

  std::size_t size() const { return size_; }

 private:
  struct Node {
    std::vector<std::pair<char, std::uint32_t>> children;  // sorted by byte
    std::int64_t target = -1;
  };
  struct Trie {
    std::vector<Node> nodes = std::vector<Node>(1);
    void insert(std::string_view prefix, std::size_t target);
    std::int64_t longest(std::string_view path) const;
  };

  struct HostHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view host) const {
      return std::hash<std::string_view>{}(host);
    }
  };
  // Keyed by lower-case host without port; looked up without allocating.
  std::unordered_map<std::string, Trie, HostHash, std::equal_to<>> hosts_;
  Trie any_;
  bool hasAny_ = false;
  std::size_t size_ = 0;
};

}  // namespace fairway::proxy
