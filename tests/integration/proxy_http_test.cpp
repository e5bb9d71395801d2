// The proxy on the wire: HTTP/1.1 semantics, forwarding headers, framing both ways, and every
// request-smuggling and limit case of issue #5, byte for byte, with real sockets on loopback.

#include <thread>

#include <gtest/gtest.h>

#include "proxy_harness.hpp"

namespace fairway::testing {
namespace {

class ProxyHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backends_ = startBackends(2);
    ASSERT_EQ(backends_.size(), 2U);
    config_ = proxyConfig(portsOf(backends_));
    config_.limits.maxBodyBytes = 1024 * 1024;
    config_.limits.maxRequestLineBytes = 1024;
    config_.limits.maxHeaderBytes = 4096;
    config_.limits.maxHeaderCount = 20;
    proxy_ = startProxy(config_);
    ASSERT_NE(proxy_, nullptr);
    port_ = proxy_->port();
  }

  std::uint64_t backendRequests() const {
    std::uint64_t total = 0;
    for (const auto& backend : backends_) {
      total += backend->requestCount();
    }
    return total;
  }

  // Sends `bytes`; expects `status` and a closed connection, and that no backend saw a request.
  void expectRejected(std::string_view bytes, int status) {
    std::uint64_t before = backendRequests();
    RawClient client(port_);
    ASSERT_TRUE(client.send(bytes));
    auto response = client.read(5s);
    ASSERT_TRUE(response) << "no response to:\n" << bytes;
    EXPECT_EQ(response->status, status) << bytes;
    EXPECT_TRUE(client.closedWithin(5s)) << "connection left open after " << status;
    EXPECT_EQ(backendRequests(), before) << "forwarded:\n" << bytes;
  }

  std::vector<std::unique_ptr<echo::EchoServer>> backends_;
  proxy::Config config_;
  std::unique_ptr<proxy::Server> proxy_;
  std::uint16_t port_ = 0;
};

// A GET goes through and the response carries Via and the backend's X-Echo-Instance.
TEST_F(ProxyHttpTest, ForwardsASimpleGet) {
  auto response = get(port_, "/hello?size=5");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 5U);
  EXPECT_TRUE(response->header("x-echo-instance"));
  EXPECT_EQ(response->header("via"), "1.1 fairway");
}

// RFC 9110 §7.6.1: hop-by-hop fields and those named in Connection are removed; X-Forwarded-*,
// Via and X-Request-Id are added; end-to-end fields pass.
TEST_F(ProxyHttpTest, RemovesHopByHopAndAddsForwardingFields) {
  auto response = get(port_, "/echo",
                      "Connection: X-Secret\r\nX-Secret: hidden\r\nKeep-Alive: timeout=5\r\n"
                      "TE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n"
                      "X-Forwarded-For: 10.0.0.1\r\nX-Custom: kept\r\n");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200);
  std::string body = lower(response->body);
  EXPECT_EQ(body.find("x-secret"), std::string::npos) << body;
  EXPECT_EQ(body.find("keep-alive\", \"timeout"), std::string::npos) << body;
  EXPECT_EQ(body.find("\"te\""), std::string::npos) << body;
  EXPECT_EQ(body.find("websocket"), std::string::npos) << body;
  EXPECT_EQ(body.find("proxy-connection"), std::string::npos) << body;
  EXPECT_NE(body.find("[\"x-custom\", \"kept\"]"), std::string::npos) << body;
  EXPECT_NE(body.find("[\"x-forwarded-for\", \"10.0.0.1, 127.0.0.1\"]"), std::string::npos) << body;
  EXPECT_NE(body.find("[\"x-forwarded-proto\", \"http\"]"), std::string::npos) << body;
  EXPECT_NE(body.find("[\"x-forwarded-host\", \"test\"]"), std::string::npos) << body;
  EXPECT_NE(body.find("[\"via\", \"1.1 fairway\"]"), std::string::npos) << body;
  EXPECT_NE(body.find("\"x-request-id\""), std::string::npos) << body;
}

// A client's X-Request-Id is kept, not replaced.
TEST_F(ProxyHttpTest, KeepsTheClientsRequestId) {
  auto response = get(port_, "/echo", "X-Request-Id: abc-123\r\n");
  ASSERT_TRUE(response);
  EXPECT_NE(lower(response->body).find("[\"x-request-id\", \"abc-123\"]"), std::string::npos);
}

// Keep-alive: many requests on one client connection; pipelined requests answered in order.
TEST_F(ProxyHttpTest, KeepAliveAndPipelining) {
  RawClient client(port_);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.send("GET /k?size=" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = client.read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body.size(), static_cast<std::size_t>(i));
  }
  std::string pipelined;
  for (int i = 0; i < 10; ++i) {
    pipelined += "GET /p?size=" + std::to_string(100 + i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  ASSERT_TRUE(client.send(pipelined));
  for (int i = 0; i < 10; ++i) {
    auto response = client.read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->body.size(), static_cast<std::size_t>(100 + i)) << "out of order";
  }
  EXPECT_EQ(proxy_->metrics().accepted, 1U);
}

// An idle keep-alive connection frees its buffers (timeouts.keep_alive_release, here 0: at once)
// and serves its next request with new ones: large request and response heads, bodies of every
// size, then pipelined requests, all answered whole and in order.
TEST_F(ProxyHttpTest, KeepAliveAfterTheConnectionFreedItsBuffers) {
  proxy::Config config = config_;
  config.clientTimeouts.keepAliveRelease = std::chrono::milliseconds(0);
  config.limits.maxRequestLineBytes = 8192;
  config.limits.maxHeaderBytes = 8192;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  RawClient client(proxy->port());
  const std::string pad(1500, 'p');
  const std::string big(3000, 'b');
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(client.send("GET /k?size=" + std::to_string(i * 1000) + "&header=X-Big:" + big +
                            " HTTP/1.1\r\nHost: t\r\nX-Pad: " + pad + "\r\n\r\n"));
    auto response = client.read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body.size(), static_cast<std::size_t>(i * 1000));
    EXPECT_EQ(response->header("x-big"), big);
    // The connection is idle now: wait (bounded) until it has freed its buffers.
    const auto released = static_cast<std::uint64_t>(i + 1);
    EXPECT_TRUE(eventually([&] { return proxy->metrics().idleReleases >= released; }, 5s)) << i;
  }
  std::string pipelined;
  for (int i = 0; i < 5; ++i) {
    pipelined += "GET /p?size=" + std::to_string(100 + i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  ASSERT_TRUE(client.send(pipelined));
  for (int i = 0; i < 5; ++i) {
    auto response = client.read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->body.size(), static_cast<std::size_t>(100 + i)) << "out of order";
  }
  EXPECT_EQ(proxy->metrics().accepted, 1U);
}

// Request bodies stream with Content-Length and chunked; the backend sees the same bytes.
TEST_F(ProxyHttpTest, ForwardsContentLengthAndChunkedBodies) {
  RawClient client(port_);
  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("\"body_length\": 11"), std::string::npos) << response->body;
  echo::Fnv1a64 expected;
  expected.update("hello world", 11);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(expected.value()));
  EXPECT_NE(response->body.find(hex), std::string::npos) << response->body;

  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("\"body_length\": 11"), std::string::npos) << response->body;
  EXPECT_NE(response->body.find(hex), std::string::npos) << response->body;
}

// Chunked responses stay chunked for HTTP/1.1 clients and are de-chunked, close-delimited, for
// HTTP/1.0 clients.
TEST_F(ProxyHttpTest, ChunkedResponsesForBothVersions) {
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET /c?size=100000&chunked=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->chunked);
  EXPECT_EQ(response->body.size(), 100000U);

  RawClient old(port_);
  ASSERT_TRUE(old.send("GET /c?size=5000&chunked=1 HTTP/1.0\r\n\r\n"));
  response = old.read();
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->header("transfer-encoding"));
  EXPECT_EQ(response->body.size(), 5000U);
  EXPECT_TRUE(old.closedWithin(5s));
}

// HTTP/1.0 with keep-alive and a Content-Length response keeps the connection.
TEST_F(ProxyHttpTest, Http10KeepAlive) {
  RawClient client(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send("GET /x?size=10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = client.read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->body.size(), 10U);
    EXPECT_EQ(lower(response->header("connection").value_or("")), "keep-alive");
  }
}

// HEAD answers carry the GET's Content-Length and no body; 204 and 304 carry no body.
TEST_F(ProxyHttpTest, ResponsesWithoutBodies) {
  RawClient client(port_);
  ASSERT_TRUE(client.send("HEAD /x?size=1234 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = client.read(10s, /*headRequest=*/true);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("content-length"), "1234");
  for (int status : {204, 304}) {
    ASSERT_TRUE(
        client.send("GET /x?status=" + std::to_string(status) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    response = client.read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status);
  }
  // The connection is still in sync: a last request gets its own response.
  ASSERT_TRUE(client.send("GET /x?size=3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 3U);
}

// Expect: 100-continue: the proxy answers 100 before the body is sent.
TEST_F(ProxyHttpTest, ExpectContinue) {
  RawClient client(port_);
  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                  "Expect: 100-continue\r\n\r\n"));
  auto interim = client.read(5s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send("data"));
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("\"body_length\": 4"), std::string::npos);
  EXPECT_EQ(lower(response->body).find("expect"), std::string::npos);
}

// Connection: close from the client: answered, then closed.
TEST_F(ProxyHttpTest, ClientConnectionClose) {
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(lower(response->header("connection").value_or("")), "close");
  EXPECT_TRUE(client.closedWithin(5s));
}

// Backend Connection: close (a response that ends the backend connection) still reaches the
// client whole, and the client connection stays usable.
TEST_F(ProxyHttpTest, BackendConnectionClose) {
  RawClient client(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send("GET /x?close=1&size=7 HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = client.read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->body.size(), 7U);
    EXPECT_FALSE(response->header("connection"));
  }
}

// Smuggling: every ambiguous framing is refused with 400 and a closed connection, never
// forwarded.
TEST_F(ProxyHttpTest, RejectsContentLengthWithTransferEncoding) {
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400);
}
TEST_F(ProxyHttpTest, RejectsDuplicateContentLength) {
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"
      "abcde",
      400);
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"
      "abcd",
      400);
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 4\r\n\r\nabcd", 400);
}
TEST_F(ProxyHttpTest, RejectsInvalidContentLength) {
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\nabcd", 400);
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400);
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x10\r\n\r\n", 400);
}
TEST_F(ProxyHttpTest, RejectsObfuscatedTransferEncoding) {
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
      "0\r\n\r\n",
      400);
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400);
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n", 400);
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400);
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "0\r\n\r\n",
      400);
}
TEST_F(ProxyHttpTest, RejectsInvalidChunkSizes) {
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "zz\r\nhello\r\n0\r\n\r\n",
      400);
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "-5\r\nhello\r\n0\r\n\r\n",
      400);
  expectRejected(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
      400);
}
TEST_F(ProxyHttpTest, RejectsBareCrAndLf) {
  expectRejected("GET / HTTP/1.1\nHost: t\r\n\r\n", 400);
  expectRejected("GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n", 400);
  expectRejected("GET / HTTP/1.1\r\nHost: t\rX-A: b\r\n\r\n", 400);
  expectRejected("GET / HTTP/1.1\r\nHost: t\r\n\n", 400);
}
TEST_F(ProxyHttpTest, RejectsWhitespaceBeforeColonAndFolding) {
  expectRejected("GET / HTTP/1.1\r\nHost: t\r\nContent-Length : 0\r\n\r\n", 400);
  expectRejected("GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n", 400);
}
TEST_F(ProxyHttpTest, RejectsNulAndControlCharactersInValues) {
  expectRejected(std::string("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", 34), 400);
  expectRejected(
      "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01"
      "b\r\n\r\n",
      400);
}
TEST_F(ProxyHttpTest, RejectsMissingOrDuplicateHost) {
  expectRejected("GET / HTTP/1.1\r\n\r\n", 400);
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}
TEST_F(ProxyHttpTest, RejectsUnsupportedVersions) {
  expectRejected("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
}

// Limits: 414, 431, 413, each with the connection closed and nothing forwarded.
TEST_F(ProxyHttpTest, RequestLineTooLong) {
  expectRejected("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
}
TEST_F(ProxyHttpTest, HeadersTooLarge) {
  expectRejected("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n", 431);
}
TEST_F(ProxyHttpTest, TooManyHeaders) {
  std::string request = "GET / HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 30; ++i) {
    request += "X-" + std::to_string(i) + ": v\r\n";
  }
  expectRejected(request + "\r\n", 431);
}
TEST_F(ProxyHttpTest, BodyTooLargeByContentLength) {
  expectRejected("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n", 413);
}
TEST_F(ProxyHttpTest, BodyTooLargeWhenChunked) {
  RawClient client(port_);
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  for (int i = 0; i < 20 && client.send(chunk); ++i) {
  }
  auto response = client.read(5s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.closedWithin(5s));
}

// No route: 404 from the proxy.
TEST(ProxyRoutingTest, RoutesByHostAndLongestPrefix) {
  auto backends = startBackends(3);
  ASSERT_EQ(backends.size(), 3U);
  proxy::Config config = proxyConfig(portsOf(backends));
  proxy::UpstreamConfig base = config.upstreams[0];
  config.upstreams.clear();
  for (int i = 0; i < 3; ++i) {
    proxy::UpstreamConfig upstream = base;
    upstream.name = "u" + std::to_string(i);
    upstream.backends = {base.backends[static_cast<std::size_t>(i)]};
    config.upstreams.push_back(upstream);
  }
  config.routes = {{"", "/api", "u0"}, {"", "/api/v2", "u1"}, {"Example.com", "/", "u2"}};
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  auto instance = [&](std::string_view target, std::string_view host) {
    RawClient client(proxy->port());
    client.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) +
                "\r\n\r\n");
    auto response = client.read();
    return response ? (response->status == 404 ? std::string("404")
                                               : response->header("x-echo-instance").value_or(""))
                    : std::string("none");
  };
  EXPECT_EQ(instance("/api/users", "other"), "b0");
  EXPECT_EQ(instance("/api/v2/users", "other"), "b1");
  EXPECT_EQ(instance("/api/v2/users", "example.com:8080"), "b2");
  EXPECT_EQ(instance("/else", "example.COM"), "b2");
  EXPECT_EQ(instance("/else", "other"), "404");
}

// A malformed backend response becomes 502, and that backend connection is not reused.
TEST(ProxyBackendTest, MalformedAndTruncatedResponsesBecome502) {
  // A raw backend: answers every request on a connection with the next canned reply.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t size = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
  std::uint16_t backendPort = ntohs(address.sin_port);
  std::vector<std::string> replies = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
      "garbage\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  };
  std::atomic<int> connections{0};
  std::thread backend([&] {
    for (const std::string& reply : replies) {
      int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      ++connections;
      char buffer[4096];
      if (::recv(fd, buffer, sizeof buffer, 0) > 0) {
        ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
      ::shutdown(fd, SHUT_WR);
      ::recv(fd, buffer, sizeof buffer, 0);  // until the proxy closes its side
      ::close(fd);
    }
  });
  proxy::Config config = proxyConfig({backendPort});
  config.workers = 1;
  config.upstreams[0].retry.attempts = 1;
  auto proxy = startProxy(config);
  ASSERT_NE(proxy, nullptr);
  for (std::size_t i = 0; i + 1 < replies.size(); ++i) {
    RawClient client(proxy->port());
    EXPECT_TRUE(client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    if (i == 1 || i == 2) {
      // Broken after a valid head: the head may already be on its way, so the client must see
      // the cut: the connection closes before a complete body.
      EXPECT_TRUE(client.closedWithin(5s)) << i;
      EXPECT_EQ(client.pending().find("hello"), std::string::npos) << i;
      EXPECT_EQ(
          client.pending().find("short") != std::string::npos && client.pending().size() >= 100,
          false);
    } else {
      auto response = client.read(5s);
      EXPECT_TRUE(response && response->status == 502) << i;
    }
  }
  auto ok = get(proxy->port(), "/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok");
  EXPECT_EQ(connections.load(), static_cast<int>(replies.size()));  // a connection per reply
  EXPECT_GE(proxy->metrics().upstreamBadResponses, 2U);
  proxy.reset();
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  backend.join();
}

}  // namespace
}  // namespace fairway::testing
