// fairway-echo over real loopback sockets: each query parameter, /echo, /health, the latency and
// error options, streaming of large bodies, stop/restart, and the program run as a subprocess.

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <utility>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <gtest/gtest.h>

#include "echo_server.hpp"

namespace {

using namespace std::chrono_literals;
using fairway::echo::EchoServer;
using fairway::echo::kBodyPattern;
using fairway::echo::Options;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Reply {
  int status = 0;
  std::string body;
  Poco::Net::HTTPResponse head;
};

Reply send(Poco::Net::HTTPClientSession& session, const std::string& target,
           const std::string& method = "GET", const std::string& body = "",
           const Headers& headers = {}) {
  Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) {
    request.add(name, value);
  }
  if (method == "POST" || method == "PUT") {
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  session.sendRequest(request) << body;
  Reply reply;
  std::istream& in = session.receiveResponse(reply.head);
  reply.status = reply.head.getStatus();
  reply.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return reply;
}

std::unique_ptr<Poco::Net::HTTPClientSession> session(std::uint16_t port) {
  auto s = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port);
  s->setTimeout(Poco::Timespan(10, 0));
  return s;
}

Reply get(std::uint16_t port, const std::string& target, const std::string& method = "GET") {
  auto s = session(port);
  return send(*s, target, method);
}

// The first `n` bytes of the default body.
std::string pattern(std::size_t n) {
  std::string out;
  while (out.size() < n) {
    out.append(kBodyPattern);
  }
  out.resize(n);
  return out;
}

std::unique_ptr<EchoServer> startServer(Options options = {}) {
  auto server = std::make_unique<EchoServer>(std::move(options));
  auto port = server->start();
  EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error().message);
  return server;
}

// Polls `done` every millisecond for at most `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

template <typename F>
std::chrono::nanoseconds timed(F&& f) {
  const auto start = Clock::now();
  f();
  return Clock::now() - start;
}

std::uint64_t fnv1a64(std::string_view data) {
  fairway::echo::Fnv1a64 h;
  h.update(data.data(), data.size());
  return h.value();
}

// ---- parsing -----------------------------------------------------------------------------------

// Durations need a unit (or are 0) and stay within 60 s.
TEST(EchoParse, Durations) {
  using fairway::echo::parseDuration;
  EXPECT_EQ(parseDuration("50ms", "d").value(), 50ms);
  EXPECT_EQ(parseDuration("1.5s", "d").value(), 1500ms);
  EXPECT_EQ(parseDuration("250us", "d").value(), 250us);
  EXPECT_EQ(parseDuration("7ns", "d").value(), 7ns);
  EXPECT_EQ(parseDuration("0", "d").value(), 0ns);
  EXPECT_EQ(parseDuration("60s", "d").value(), 60s);
  for (const char* bad : {"", "50", "ms", "-5ms", "5 ms", "5min", "61s", "1e3ms", "..ms"}) {
    auto r = parseDuration(bad, "delay");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("delay"), std::string::npos) << r.error().message;
  }
}

// Sizes go past 2 GiB (streamed, never allocated) and stop at 1 TiB.
TEST(EchoParse, Sizes) {
  using fairway::echo::parseSize;
  EXPECT_EQ(parseSize("65536", "s").value(), 65536u);
  EXPECT_EQ(parseSize("64KiB", "s").value(), 65536u);
  EXPECT_EQ(parseSize("2GiB", "s").value(), std::uint64_t{1} << 31);
  EXPECT_EQ(parseSize("3G", "s").value(), std::uint64_t{3} << 30);
  EXPECT_EQ(parseSize("1024GiB", "s").value(), std::uint64_t{1} << 40);
  for (const char* bad : {"", "-1", "1.5", "12kb", "1025GiB", "99999999999999999999"}) {
    EXPECT_FALSE(parseSize(bad, "size").ok()) << bad;
  }
}

// The four latency forms parse, print back, and refuse malformed input.
TEST(EchoParse, LatencyForms) {
  using fairway::echo::parseLatency;
  for (const char* form : {"5ms", "uniform:1ms-5ms", "exp:10ms", "lognormal:10ms,0.5"}) {
    auto latency = parseLatency(form);
    ASSERT_TRUE(latency.ok()) << form;
    EXPECT_EQ(latency.value().describe(), form);
  }
  for (const char* bad : {"fast", "uniform:5ms", "uniform:5ms-1ms", "exp:", "lognormal:10ms",
                          "lognormal:10ms,x", "gauss:1ms", "61s"}) {
    EXPECT_FALSE(parseLatency(bad).ok()) << bad;
  }
}

// Samples stay within the distribution's bounds, and means and medians land where they should.
TEST(EchoParse, LatencySamples) {
  fairway::core::Random random(7);
  auto uniform = fairway::echo::parseLatency("uniform:1ms-5ms").value();
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto d = uniform.sample(random);
    ASSERT_GE(d, 1ms);
    ASSERT_LE(d, 5ms);
    sum += static_cast<double>(d.count());
  }
  EXPECT_NEAR(sum / 10000, 3e6, 0.1e6);

  auto exponential = fairway::echo::parseLatency("exp:10ms").value();
  sum = 0;
  for (int i = 0; i < 20000; ++i) {
    sum += static_cast<double>(exponential.sample(random).count());
  }
  EXPECT_NEAR(sum / 20000, 10e6, 0.5e6);

  auto lognormal = fairway::echo::parseLatency("lognormal:10ms,0.5").value();
  std::vector<std::int64_t> samples;
  for (int i = 0; i < 20001; ++i) {
    samples.push_back(lognormal.sample(random).count());
  }
  std::nth_element(samples.begin(), samples.begin() + 10000, samples.end());
  EXPECT_NEAR(static_cast<double>(samples[10000]), 10e6, 0.5e6);

  // A huge tail is clamped to the 60 s bound.
  auto wide = fairway::echo::parseLatency("lognormal:30s,10").value();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_LE(wide.sample(random), fairway::echo::kMaxDelay);
  }
}

// The command line accepts both --opt value and --opt=value, and names the culprit otherwise.
TEST(EchoParse, CommandLine) {
  const std::vector<std::string_view> good = {
      "--port",      "8081",           "--name=b1", "--latency",       "exp:2ms", "--error-rate",
      "0.25",        "--error-status", "502",       "--body-size",     "64KiB",   "--chunked",
      "--threads=8", "--seed",         "42",        "--health-status", "503"};
  auto parsed = fairway::echo::parseCommandLine(good);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Options& o = parsed.value().options;
  EXPECT_EQ(o.port, 8081);
  EXPECT_EQ(o.name, "b1");
  EXPECT_EQ(o.latency.describe(), "exp:2ms");
  EXPECT_DOUBLE_EQ(o.errorRate, 0.25);
  EXPECT_EQ(o.errorStatus, 502);
  EXPECT_EQ(o.bodySize, 65536u);
  EXPECT_TRUE(o.chunked);
  EXPECT_EQ(o.threads, 8);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.healthStatus, 503);

  const std::vector<std::vector<std::string_view>> bad = {{"--bogus"},
                                                          {"--port"},
                                                          {"--port", "70000"},
                                                          {"--error-rate", "1.5"},
                                                          {"--error-status", "99"},
                                                          {"--latency", "x"},
                                                          {"--threads", "0"},
                                                          {"positional"},
                                                          {"--chunked=1"}};
  for (const auto& args : bad) {
    auto r = fairway::echo::parseCommandLine(args);
    EXPECT_FALSE(r.ok()) << args[0];
  }
  EXPECT_TRUE(
      fairway::echo::parseCommandLine(std::vector<std::string_view>{"--help"}).value().help);
}

// ---- responses --------------------------------------------------------------------------------

// The default response: 200, the instance header ("127.0.0.1:port" unless named), a Content-Type
// and 64 bytes of the pattern.
TEST(Echo, DefaultResponseNamesTheInstance) {
  auto server = startServer();
  const auto port = server->port();
  ASSERT_NE(port, 0);
  EXPECT_EQ(server->name(), "127.0.0.1:" + std::to_string(port));
  const Reply r = get(port, "/anything");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.get("X-Echo-Instance"), server->name());
  EXPECT_EQ(r.head.getContentType(), "text/plain");
  EXPECT_EQ(r.body, pattern(64));

  Options named;
  named.name = "backend-7";
  named.bodySize = 10;
  auto other = startServer(named);
  const Reply r2 = get(other->port(), "/");
  EXPECT_EQ(r2.head.get("X-Echo-Instance"), "backend-7");
  EXPECT_EQ(r2.body, pattern(10));
}

// status=, size=, header= (repeatable) and the example from the issue.
TEST(Echo, QueryChoosesStatusSizeAndHeaders) {
  auto server = startServer();
  const Reply r = get(server->port(),
                      "/x?status=503&delay=1ms&size=65536&header=Cache-Control:max-age=60"
                      "&header=X-A:1&header=X-A:2&header=Content-Type:application/octet-stream");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.head.getContentLength64(), 65536);
  EXPECT_EQ(r.body, pattern(65536));
  EXPECT_EQ(r.head.get("Cache-Control"), "max-age=60");
  EXPECT_EQ(r.head.getContentType(), "application/octet-stream");
  std::vector<std::string> values;
  for (const auto& [name, value] : r.head) {
    if (name == "X-A") {
      values.push_back(value);
    }
  }
  EXPECT_EQ(values, (std::vector<std::string>{"1", "2"}));

  // Percent-encoded values, and statuses across the range.
  const Reply encoded = get(server->port(), "/x?header=X-Msg:hello%20world%21&size=0");
  EXPECT_EQ(encoded.head.get("X-Msg"), "hello world!");
  EXPECT_EQ(encoded.body, "");
  for (const int status : {200, 201, 302, 404, 429, 500, 502, 504, 511}) {
    EXPECT_EQ(get(server->port(), "/x?status=" + std::to_string(status)).status, status);
  }
}

// delay= holds the response back at least that long.
TEST(Echo, DelayParameterDelaysTheResponse) {
  auto server = startServer();
  Reply r;
  const auto elapsed = timed([&] { r = get(server->port(), "/x?delay=50ms"); });
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(elapsed, 50ms);
}

// chunked=1 per request, and Options::chunked for every response.
TEST(Echo, ChunkedReplies) {
  auto server = startServer();
  const Reply r = get(server->port(), "/x?chunked=1&size=100000");
  EXPECT_TRUE(r.head.getChunkedTransferEncoding());
  EXPECT_EQ(r.body, pattern(100000));
  EXPECT_FALSE(get(server->port(), "/x").head.getChunkedTransferEncoding());

  Options chunkedByDefault;
  chunkedByDefault.chunked = true;
  auto chunkedServer = startServer(chunkedByDefault);
  const Reply c = get(chunkedServer->port(), "/x");
  EXPECT_TRUE(c.head.getChunkedTransferEncoding());
  EXPECT_EQ(c.body, pattern(64));
  EXPECT_FALSE(get(chunkedServer->port(), "/x?chunked=0").head.getChunkedTransferEncoding());
}

// close=1 answers with Connection: close and closes; without it the connection is reused.
TEST(Echo, CloseParameterClosesTheConnection) {
  auto server = startServer();
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", server->port()));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  auto exchange = [&](const std::string& target) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    std::string received;
    std::array<char, 4096> buffer{};
    while (received.find("\r\n\r\n") == std::string::npos ||
           received.size() < received.find("\r\n\r\n") + 4 + 64) {
      const int n = socket.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
      if (n <= 0) {
        break;
      }
      received.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return received;
  };
  EXPECT_NE(exchange("/a").find("200 OK"), std::string::npos);
  std::string closing = exchange("/b?close=1");
  std::transform(closing.begin(), closing.end(), closing.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(closing.find("connection: close"), std::string::npos) << closing;
  std::array<char, 16> rest{};
  EXPECT_EQ(socket.receiveBytes(rest.data(), static_cast<int>(rest.size())), 0);  // EOF
}

// HEAD gets the headers of the GET (Content-Length even past 2 GiB) and no body; the connection
// stays usable.
TEST(Echo, HeadHasLengthButNoBody) {
  auto server = startServer();
  auto s = session(server->port());
  const Reply head = send(*s, "/x?size=3GiB", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.head.getContentLength64(), Poco::Int64{3} << 30);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(send(*s, "/x?size=5").body, pattern(5));
}

// 204 and 304 carry no content, and the connection stays usable.
TEST(Echo, NoContentStatuses) {
  auto server = startServer();
  auto s = session(server->port());
  EXPECT_EQ(send(*s, "/x?status=204&size=100").body, "");
  EXPECT_EQ(send(*s, "/x?status=304").body, "");
  EXPECT_EQ(send(*s, "/x?size=3").body, pattern(3));
}

// drip= spreads the body over time, drip_size bytes at a time.
TEST(Echo, DripSpreadsTheBody) {
  auto server = startServer();
  Reply r;
  const auto elapsed = timed([&] { r = get(server->port(), "/x?size=8&drip=10ms&drip_size=2"); });
  EXPECT_EQ(r.body, pattern(8));
  EXPECT_GE(elapsed, 40ms);
  // A schedule over 60 s is refused up front.
  EXPECT_EQ(get(server->port(), "/x?size=100000&drip=1ms").status, 400);
}

// Malformed parameters get a 400 naming the parameter (still from this instance); unknown ones
// are ignored.
TEST(Echo, BadParametersGet400) {
  auto server = startServer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"status=abc", "status"},
      {"status=99", "status"},
      {"status=512", "status"},
      {"delay=5", "delay"},
      {"delay=61s", "delay"},
      {"delay=-1ms", "delay"},
      {"size=-1", "size"},
      {"size=2TiB", "size"},
      {"chunked=maybe", "chunked"},
      {"close=2", "close"},
      {"header=NoColon", "header"},
      {"header=Bad%20Name:x", "header"},
      {"header=X:a%0D%0Ab", "header"},
      {"header=Content-Length:5", "header"},
      {"status=200&status=201", "status"},
      {"header=X:%zz", "header"},
      {"drip=fast", "drip"},
      {"drip_size=0&drip=1ms", "drip_size"}};
  for (const auto& [query, name] : cases) {
    const Reply r = get(server->port(), "/x?" + query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.body.find(name), std::string::npos) << query << ": " << r.body;
    EXPECT_EQ(r.head.get("X-Echo-Instance", ""), server->name()) << query;
  }
  EXPECT_EQ(get(server->port(), "/x?cachebuster=123&k=v").status, 200);
}

// /echo describes the request as received: method, target, version, every header in order
// (repeated ones repeated) and the length and FNV-1a checksum of the body.
TEST(Echo, EchoReflectsTheRequest) {
  auto server = startServer();
  auto s = session(server->port());
  const std::string body = "hello, echo";
  const Reply r = send(*s, "/echo?a=1&b=%20", "POST", body,
                       {{"X-Rep", "one"}, {"X-Rep", "two"}, {"X-Quote", "say \"hi\"\\"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.head.getContentType(), "application/json");
  EXPECT_NE(r.body.find(R"("method": "POST")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("target": "/echo?a=1&b=%20")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("version": "HTTP/1.1")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("instance": ")" + server->name() + "\""), std::string::npos);
  const auto one = r.body.find(R"(["X-Rep", "one"])");
  const auto two = r.body.find(R"(["X-Rep", "two"])");
  ASSERT_NE(one, std::string::npos) << r.body;
  ASSERT_NE(two, std::string::npos) << r.body;
  EXPECT_LT(one, two);
  EXPECT_NE(r.body.find(R"(["X-Quote", "say \"hi\"\\"])"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("body_length": 11)"), std::string::npos) << r.body;
  char checksum[32];
  std::snprintf(checksum, sizeof checksum, "%016llx",
                static_cast<unsigned long long>(fnv1a64(body)));
  EXPECT_NE(r.body.find(std::string(R"("body_fnv1a64": ")") + checksum), std::string::npos);
  // Known FNV-1a 64 vectors, so the checksum is the published function.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);

  // Query parameters still apply to /echo.
  const Reply teapot = send(*s, "/echo?status=418");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_NE(teapot.body.find(R"("body_length": 0)"), std::string::npos);
}

// A POST to an ordinary path is drained, so the keep-alive connection serves the next request.
TEST(Echo, RequestBodiesAreDrainedOnEveryPath) {
  auto server = startServer();
  auto s = session(server->port());
  EXPECT_EQ(send(*s, "/upload", "POST", std::string(100000, 'x')).status, 200);
  EXPECT_EQ(send(*s, "/next?size=4").body, pattern(4));
}

// ---- large bodies -----------------------------------------------------------------------------

long statusKiB(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::stol(line.substr(std::string(field).size()));
    }
  }
  return -1;
}

// 64 MiB down and 64 MiB up (chunked), checked byte for byte, with the process's peak RSS
// growing by far less than a buffered body would need.
TEST(Echo, LargeBodiesStreamWithBoundedMemory) {
  auto server = startServer();
  constexpr std::uint64_t kSize = 64ull << 20;
  // Reset the peak RSS to the current RSS (Linux clear_refs 5), if allowed.
  const bool peakReset = [] {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    return clear.good();
  }();
  const long rssBefore = statusKiB("VmRSS:");

  auto s = session(server->port());
  Poco::Net::HTTPRequest download("GET", "/x?size=64MiB", Poco::Net::HTTPMessage::HTTP_1_1);
  s->sendRequest(download);
  Poco::Net::HTTPResponse head;
  std::istream& in = s->receiveResponse(head);
  ASSERT_EQ(head.getContentLength64(), static_cast<Poco::Int64>(kSize));
  std::array<char, 65536> buffer{};
  std::uint64_t received = 0;
  bool matches = true;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < n; i += 4093) {
      matches = matches && buffer[i] == kBodyPattern[(received + i) % kBodyPattern.size()];
    }
    received += n;
  }
  EXPECT_EQ(received, kSize);
  EXPECT_TRUE(matches);

  Poco::Net::HTTPRequest upload("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  upload.setChunkedTransferEncoding(true);
  std::ostream& out = s->sendRequest(upload);
  fairway::echo::Fnv1a64 checksum;
  for (std::uint64_t sent = 0; sent < kSize; sent += buffer.size()) {
    for (std::size_t i = 0; i < buffer.size(); ++i) {
      buffer[i] = static_cast<char>((sent + i) * 31 % 251);
    }
    checksum.update(buffer.data(), buffer.size());
    out.write(buffer.data(), buffer.size());
  }
  Poco::Net::HTTPResponse echoHead;
  std::istream& echoIn = s->receiveResponse(echoHead);
  const std::string echoBody((std::istreambuf_iterator<char>(echoIn)),
                             std::istreambuf_iterator<char>());
  EXPECT_NE(echoBody.find("\"body_length\": " + std::to_string(kSize)), std::string::npos);
  char expected[32];
  std::snprintf(expected, sizeof expected, "%016llx",
                static_cast<unsigned long long>(checksum.value()));
  EXPECT_NE(echoBody.find(expected), std::string::npos) << echoBody;

  const long peak = statusKiB("VmHWM:");
  if (peakReset && rssBefore > 0 && peak > 0) {
    EXPECT_LT(peak - rssBefore, 16 * 1024) << "peak RSS grew by " << (peak - rssBefore) << " KiB";
  }
}

// ---- latency and errors -----------------------------------------------------------------------

// A fixed latency delays every response at least that long; /health is not delayed.
TEST(Echo, FixedLatencyIsALowerBound) {
  Options options;
  options.latency = fairway::echo::parseLatency("20ms").value();
  auto server = startServer(options);
  auto s = session(server->port());
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(timed([&] { EXPECT_EQ(send(*s, "/x").status, 200); }), 20ms);
  }
}

// delay= replaces the latency sample for one request (a margin that holds on a loaded machine).
TEST(Echo, DelayParameterOverridesLatency) {
  Options options;
  options.latency = fairway::echo::parseLatency("30s").value();
  auto server = startServer(options);
  EXPECT_LT(timed([&] { EXPECT_EQ(get(server->port(), "/x?delay=0").status, 200); }), 10s);
}

// With a fixed seed, the error rate over 1,000 requests is near the setting and repeats exactly;
// /health is never an injected error.
TEST(Echo, ErrorRateWithAFixedSeed) {
  auto run = [](std::uint64_t seed) {
    Options options;
    options.errorRate = 0.1;
    options.errorStatus = 502;
    options.seed = seed;
    auto server = startServer(options);
    auto s = session(server->port());
    std::vector<int> statuses;
    for (int i = 0; i < 1000; ++i) {
      statuses.push_back(send(*s, "/x").status);
    }
    EXPECT_EQ(send(*s, "/health").status, 200);
    return statuses;
  };
  const std::vector<int> first = run(42);
  const auto errors = std::count(first.begin(), first.end(), 502);
  EXPECT_EQ(std::count(first.begin(), first.end(), 200) + errors, 1000);
  EXPECT_GE(errors, 70);
  EXPECT_LE(errors, 130);
  EXPECT_EQ(run(42), first);
  EXPECT_NE(run(43), first);
}

// An explicit status= is never replaced by an injected error.
TEST(Echo, ExplicitStatusBeatsInjectedErrors) {
  Options options;
  options.errorRate = 1.0;
  auto server = startServer(options);
  EXPECT_EQ(get(server->port(), "/x").status, 500);
  EXPECT_EQ(get(server->port(), "/x?status=200").status, 200);
  EXPECT_EQ(get(server->port(), "/health").status, 200);
}

// ---- health -----------------------------------------------------------------------------------

// setHealthy(false) fails /health while other paths still answer 200 (a gray failure).
TEST(Echo, HealthCanFailWhileTrafficSucceeds) {
  auto server = startServer();
  Reply h = get(server->port(), "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  server->setHealthy(false);
  h = get(server->port(), "/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.head.get("X-Echo-Instance"), server->name());
  EXPECT_EQ(get(server->port(), "/x").status, 200);
  EXPECT_TRUE(server->setHealthStatus(500));
  EXPECT_EQ(get(server->port(), "/health").status, 500);
  EXPECT_FALSE(server->setHealthStatus(42));
  server->setHealthy(true);
  EXPECT_EQ(get(server->port(), "/health").status, 200);

  Options sick;
  sick.healthStatus = 503;
  auto other = startServer(sick);
  EXPECT_EQ(get(other->port(), "/health").status, 503);
}

// ---- lifecycle --------------------------------------------------------------------------------

// stop() refuses new connections; a new server takes the same port back (SO_REUSEADDR even
// with connections in TIME_WAIT), and so does the stopped server itself.
TEST(Echo, StopAndRestartOnTheSamePort) {
  auto first = startServer();
  const auto port = first->port();
  const std::string name = first->name();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(get(port, "/x").status, 200);  // leaves connections behind in TIME_WAIT
  }
  first->stop();
  EXPECT_FALSE(first->running());
  EXPECT_THROW(get(port, "/x"), Poco::Net::ConnectionRefusedException);

  Options same;
  same.port = port;
  auto second = startServer(same);
  EXPECT_EQ(second->port(), port);
  const Reply r = get(port, "/x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.get("X-Echo-Instance"), name);
  second->stop();

  auto again = first->start();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value(), port);
  EXPECT_EQ(get(port, "/x").status, 200);

  // Two live servers never share a port.
  EchoServer clash(same);
  auto refused = clash.start();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, fairway::echo::ErrorCode::kBindFailed);
  EXPECT_EQ(first->start().error().code, fairway::echo::ErrorCode::kAlreadyRunning);
}

// stop() cuts short a delayed request, a large download and an idle keep-alive connection,
// and returns promptly.
TEST(Echo, StopClosesLiveConnectionsPromptly) {
  auto server = startServer();
  const auto port = server->port();

  Poco::Net::StreamSocket idle(Poco::Net::SocketAddress("127.0.0.1", port));
  idle.setReceiveTimeout(Poco::Timespan(10, 0));
  const std::string request = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
  idle.sendBytes(request.data(), static_cast<int>(request.size()));
  std::array<char, 4096> buffer{};
  ASSERT_GT(idle.receiveBytes(buffer.data(), static_cast<int>(buffer.size())), 0);

  std::atomic<bool> delayedFailed{false};
  std::thread delayed([&] {
    try {
      get(port, "/x?delay=30s");
    } catch (const Poco::Exception&) {
      delayedFailed = true;
    }
  });
  std::atomic<bool> downloadCut{false};
  std::thread download([&] {
    try {
      auto s = session(port);
      Poco::Net::HTTPRequest req("GET", "/x?size=1GiB", Poco::Net::HTTPMessage::HTTP_1_1);
      s->sendRequest(req);
      Poco::Net::HTTPResponse head;
      std::istream& in = s->receiveResponse(head);
      std::array<char, 65536> chunk{};
      std::uint64_t total = 0;
      while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
        total += static_cast<std::uint64_t>(in.gcount());
      }
      downloadCut = total < (1ull << 30);
    } catch (const Poco::Exception&) {
      downloadCut = true;
    }
  });
  ASSERT_TRUE(eventually([&] { return server->requestCount() == 3; }));

  const auto stopTime = timed([&] { server->stop(); });
  EXPECT_LT(stopTime, 2s);
  const auto joinTime = timed([&] {
    delayed.join();
    download.join();
  });
  EXPECT_LT(joinTime, 5s);
  EXPECT_TRUE(delayedFailed);
  EXPECT_TRUE(downloadCut);
  int n = -1;
  try {
    n = idle.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
  } catch (const Poco::Net::ConnectionResetException&) {
    n = 0;
  }
  EXPECT_EQ(n, 0);  // closed by the server, not a receive timeout
}

// Concurrent clients are all served, and requestCount() counts every request.
TEST(Echo, ConcurrentClientsAndRequestCount) {
  auto server = startServer();
  constexpr int kClients = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      auto s = session(server->port());
      for (int i = 0; i < kRequests; ++i) {
        if (send(*s, "/x?size=1000").body == pattern(1000)) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(ok, kClients * kRequests);
  EXPECT_EQ(server->requestCount(), static_cast<std::uint64_t>(kClients * kRequests));
}

// Invalid options are refused by start() with a message, not a crash.
TEST(Echo, InvalidOptionsAreRefused) {
  Options options;
  options.errorRate = 2;
  EchoServer server(options);
  auto r = server.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("error-rate"), std::string::npos);
  Options notLocal;
  notLocal.address = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  EXPECT_EQ(EchoServer(notLocal).start().error().code, fairway::echo::ErrorCode::kBindFailed);
}

// ---- the program ------------------------------------------------------------------------------

struct Child {
  Poco::ProcessHandle handle;
  Poco::Pipe out;
  Poco::Pipe err;
};

// Waits for the child to exit, for at most `limit`; its exit code, or -1.
int waitExit(Poco::ProcessHandle& handle, std::chrono::milliseconds limit) {
  int status = 0;
  int result = -1;
  eventually(
      [&] {
        const pid_t done = ::waitpid(handle.id(), &status, WNOHANG);
        if (done == handle.id()) {
          result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        return done < 0;
      },
      limit);
  return result;
}

std::unique_ptr<Child> launch(const std::vector<std::string>& args) {
  auto out = std::make_unique<Poco::Pipe>();
  auto err = std::make_unique<Poco::Pipe>();
  Poco::ProcessHandle handle =
      Poco::Process::launch(FAIRWAY_ECHO_BINARY, args, nullptr, out.get(), err.get());
  return std::unique_ptr<Child>(new Child{handle, *out, *err});
}

// The program prints exactly one line with its port, serves, and exits 0 on SIGTERM and SIGINT.
TEST(EchoProgram, ReportsItsPortAndStopsOnSignals) {
  for (const int signal : {SIGTERM, SIGINT}) {
    auto child = launch({"--port", "0", "--name", "sub", "--latency", "1ms"});
    Poco::PipeInputStream out(child->out);
    std::string line;
    std::getline(out, line);
    // std::regex is avoided: GCC 12 warns inside <regex> at -O2 (maybe-uninitialized).
    const std::string prefix = "fairway-echo listening on 127.0.0.1:";
    ASSERT_TRUE(line.starts_with(prefix)) << line;
    const std::string digits = line.substr(prefix.size());
    ASSERT_TRUE(!digits.empty() && digits.size() <= 5 &&
                digits.find_first_not_of("0123456789") == std::string::npos)
        << line;
    const auto port = static_cast<std::uint16_t>(std::stoi(digits));
    const Reply r = get(port, "/x");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.head.get("X-Echo-Instance"), "sub");
    ASSERT_EQ(::kill(child->handle.id(), signal), 0);
    EXPECT_EQ(waitExit(child->handle, 5s), 0);
    std::string rest;
    std::getline(out, rest);
    EXPECT_EQ(rest, "");  // nothing else on stdout
    EXPECT_TRUE(out.eof());
  }
}

// Bad options exit 2 with a message naming the option; --version and --help exit 0.
TEST(EchoProgram, BadOptionsExit2) {
  auto bad = launch({"--latency", "sometimes"});
  Poco::PipeInputStream err(bad->err);
  const std::string message((std::istreambuf_iterator<char>(err)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(waitExit(bad->handle, 5s), 2);
  EXPECT_NE(message.find("latency"), std::string::npos) << message;
  EXPECT_NE(message.find("usage"), std::string::npos) << message;

  auto version = launch({"--version"});
  Poco::PipeInputStream out(version->out);
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line.rfind("fairway-echo ", 0), 0u) << line;
  EXPECT_EQ(waitExit(version->handle, 5s), 0);
}

}  // namespace
