#pragma once

// Test harness for the proxy's integration tests: in-process fairway-echo backends, an in-process
// fairway::proxy::Server on port 0, and a raw HTTP/1.1 client that shows exactly what went over
// the wire (so that smuggling and framing cases can be written byte for byte).

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <fairway/proxy/config.hpp>
#include <fairway/proxy/server.hpp>

#include "echo_server.hpp"

namespace fairway::testing {

using namespace std::chrono_literals;

inline std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

// One parsed response as the client saw it.
struct Response {
  int status = 0;
  std::string statusLine;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool chunked = false;

  std::optional<std::string> header(std::string_view name) const {
    std::string key = lower(name);
    for (const auto& [n, v] : headers) {
      if (n == key) {
        return v;
      }
    }
    return std::nullopt;
  }
  std::size_t count(std::string_view name) const {
    std::string key = lower(name);
    std::size_t n = 0;
    for (const auto& h : headers) {
      n += h.first == key ? 1 : 0;
    }
    return n;
  }
};

// A blocking client socket with a deadline on every read: bytes in, responses out.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length, chunked, or until close). nullopt on timeout or a close
  // before a complete head. `headRequest`: the response has no body.
  std::optional<Response> read(std::chrono::milliseconds timeout = 10s, bool headRequest = false) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t headEnd;
    while ((headEnd = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) {
        return std::nullopt;
      }
    }
    Response response;
    std::string_view head(buffer_.data(), headEnd);
    std::size_t lineEnd = head.find("\r\n");
    response.statusLine = std::string(head.substr(0, lineEnd));
    if (response.statusLine.size() >= 12) {
      response.status = std::atoi(response.statusLine.c_str() + 9);
    }
    std::size_t pos = lineEnd == std::string_view::npos ? head.size() : lineEnd + 2;
    while (pos < head.size()) {
      std::size_t end = head.find("\r\n", pos);
      if (end == std::string_view::npos) {
        end = head.size();
      }
      std::string_view line = head.substr(pos, end - pos);
      std::size_t colon = line.find(':');
      std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      response.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
      pos = end + 2;
    }
    buffer_.erase(0, headEnd + 4);
    if (response.status >= 100 && response.status < 200) {
      return response;  // interim: the caller reads again for the final one
    }
    if (headRequest || response.status == 204 || response.status == 304) {
      return response;
    }
    if (auto length = response.header("content-length")) {
      std::size_t size = std::stoull(*length);
      while (buffer_.size() < size) {
        if (!fill(deadline)) {
          return std::nullopt;
        }
      }
      response.body = buffer_.substr(0, size);
      buffer_.erase(0, size);
      return response;
    }
    if (auto te = response.header("transfer-encoding"); te && lower(*te) == "chunked") {
      response.chunked = true;
      for (;;) {
        std::size_t line;
        while ((line = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill(deadline)) {
            return std::nullopt;
          }
        }
        std::size_t size = std::stoull(buffer_.substr(0, line), nullptr, 16);
        buffer_.erase(0, line + 2);
        if (size == 0) {
          while ((line = buffer_.find("\r\n")) != 0) {  // trailers, then the empty line
            if (line == std::string::npos) {
              if (!fill(deadline)) {
                return std::nullopt;
              }
              continue;
            }
            buffer_.erase(0, line + 2);
          }
          buffer_.erase(0, 2);
          return response;
        }
        while (buffer_.size() < size + 2) {
          if (!fill(deadline)) {
            return std::nullopt;
          }
        }
        response.body += buffer_.substr(0, size);
        buffer_.erase(0, size + 2);
      }
    }
    while (fill(deadline)) {  // close-delimited
    }
    response.body = buffer_;
    buffer_.clear();
    return response;
  }

  // True once the peer closed the connection (EOF or reset) within `timeout`; bytes that arrive
  // first are kept for read().
  bool closedWithin(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!fill(deadline)) {
        return eof_;
      }
    }
    return eof_;
  }
  const std::string& pending() const { return buffer_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_) {
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// Starts `count` echo backends named b0, b1, ...
inline std::vector<std::unique_ptr<echo::EchoServer>> startBackends(std::size_t count,
                                                                    echo::Options base = {}) {
  std::vector<std::unique_ptr<echo::EchoServer>> backends;
  for (std::size_t i = 0; i < count; ++i) {
    echo::Options options = base;
    options.name = "b" + std::to_string(i);
    options.seed = base.seed.value_or(42) + i;
    auto server = std::make_unique<echo::EchoServer>(options);
    auto port = server->start();
    if (!port) {
      return {};
    }
    backends.push_back(std::move(server));
  }
  return backends;
}

// A proxy configuration on 127.0.0.1:0 with one upstream "default" over `ports`.
inline proxy::Config proxyConfig(const std::vector<std::uint16_t>& ports,
                                 std::string algorithm = "round_robin",
                                 std::vector<std::int64_t> weights = {}) {
  proxy::Config config;
  config.listeners = {proxy::ListenerConfig{"127.0.0.1", 0}};
  config.workers = 2;
  config.admin.port = 0;
  proxy::UpstreamConfig upstream;
  upstream.name = "default";
  upstream.balancer.algorithm = std::move(algorithm);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    proxy::BackendConfig backend;
    backend.host = "127.0.0.1";
    backend.port = ports[i];
    backend.url = "http://127.0.0.1:" + std::to_string(ports[i]);
    backend.weight = i < weights.size() ? weights[i] : 1;
    backend.id = "b" + std::to_string(i);
    upstream.backends.push_back(backend);
  }
  upstream.outlier.consecutive5xx = 0;  // tests that want passive ejection turn it on
  config.upstreams = {upstream};
  config.routes = {proxy::RouteConfig{"", "/", "default"}};
  return config;
}

inline std::vector<std::uint16_t> portsOf(
    const std::vector<std::unique_ptr<echo::EchoServer>>& backends) {
  std::vector<std::uint16_t> ports;
  for (const auto& backend : backends) {
    ports.push_back(backend->port());
  }
  return ports;
}

// A started proxy or a failed test.
inline std::unique_ptr<proxy::Server> startProxy(const proxy::Config& config) {
  auto made = proxy::Server::make(config);
  if (!made) {
    return nullptr;
  }
  auto server = std::move(made.value());
  if (!server->start()) {
    return nullptr;
  }
  return server;
}

// GET `target` on a fresh connection; the response or nullopt.
inline std::optional<Response> get(std::uint16_t port, std::string_view target,
                                   std::string_view extraHeaders = "") {
  RawClient client(port);
  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
                        std::string(extraHeaders) + "Connection: close\r\n\r\n";
  if (!client.send(request)) {
    return std::nullopt;
  }
  return client.read();
}

// Polls `condition` every 5 ms until it holds or `limit` passes.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    ::poll(nullptr, 0, 5);
  }
  return condition();
}

}  // namespace fairway::testing
