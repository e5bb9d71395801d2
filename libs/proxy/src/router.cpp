#include <algorithm>

#include <fairway/proxy/router.hpp>

namespace fairway::proxy {

namespace {

// "Example.COM:8080" -> "example.com"; "[::1]:80" -> "[::1]". Writes into `out` (at most
// `capacity` bytes) and returns the view, or an empty view if the host does not fit.
std::string_view normalizeHost(std::string_view host, char* out, std::size_t capacity) {
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  if (host.size() > capacity) {
    return {};
  }
  for (std::size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  return {out, host.size()};
}

std::string normalizedHost(std::string_view host) {
  std::string out(host.size(), '\0');
  out.resize(normalizeHost(host, out.data(), out.size()).size());
  return out;
}

}  // namespace

void Router::Trie::insert(std::string_view prefix, std::size_t target) {
  std::uint32_t node = 0;
  for (char c : prefix) {
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& child, char value) { return child.first < value; });
    if (it != children.end() && it->first == c) {
      node = it->second;
      continue;
    }
    auto next = static_cast<std::uint32_t>(nodes.size());
    children.insert(it, {c, next});
    nodes.emplace_back();
    node = next;
  }
  if (nodes[node].target < 0) {
    nodes[node].target = static_cast<std::int64_t>(target);
  }
}

std::int64_t Router::Trie::longest(std::string_view path) const {
  std::uint32_t node = 0;
  std::int64_t best = nodes[0].target;
  for (char c : path) {
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& child, char value) { return child.first < value; });
    if (it == children.end() || it->first != c) {
      break;
    }
    node = it->second;
    if (nodes[node].target >= 0) {
      best = nodes[node].target;
    }
  }
  return best;
}

Router::Router(const std::vector<Route>& routes) {
  for (const Route& route : routes) {
    if (route.host.empty() || route.host == "*") {
      any_.insert(route.pathPrefix, route.target);
      hasAny_ = true;
    } else {
      hosts_[normalizedHost(route.host)].insert(route.pathPrefix, route.target);
    }
    ++size_;
  }
}

std::optional<std::size_t> Router::match(std::string_view host, std::string_view path) const {
  if (!hosts_.empty() && !host.empty()) {
    char buffer[256];
    auto it = hosts_.find(normalizeHost(host, buffer, sizeof buffer));
    if (it != hosts_.end()) {
      if (std::int64_t target = it->second.longest(path); target >= 0) {
        return static_cast<std::size_t>(target);
      }
    }
  }
  if (hasAny_) {
    if (std::int64_t target = any_.longest(path); target >= 0) {
      return static_cast<std::size_t>(target);
    }
  }
  return std::nullopt;
}

}  // namespace fairway::proxy
