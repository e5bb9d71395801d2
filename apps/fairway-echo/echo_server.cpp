#include "echo_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <limits>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerDispatcher.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>

namespace fairway::echo {

namespace {

using namespace std::chrono_literals;

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

std::string quoted(std::string_view text) {
  std::string out = "'";
  out.append(text.substr(0, 64));
  if (text.size() > 64) {
    out.append("...");
  }
  out.push_back('\'');
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

template <typename Int>
std::optional<Int> parseInteger(std::string_view text) {
  Int value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// A plain decimal ("0.5", "12", "1e-3" is refused: this is for humans typing options).
std::optional<double> parseDecimal(std::string_view text) {
  if (text.empty() || text.front() == '-' || text.front() == '+') {
    return std::nullopt;
  }
  for (const char c : text) {
    if ((c < '0' || c > '9') && c != '.') {
      return std::nullopt;
    }
  }
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

Result<int> parseStatus(std::string_view text, std::string_view what) {
  auto value = parseInteger<int>(text);
  if (!value || *value < kMinStatus || *value > kMaxStatus) {
    return invalid(std::string(what) + ": " + quoted(text) + " is not a status code 200-511");
  }
  return *value;
}

Result<bool> parseFlag(std::string_view text, std::string_view what) {
  if (text.empty() || text == "1" || text == "true" || text == "yes") {
    return true;
  }
  if (text == "0" || text == "false" || text == "no") {
    return false;
  }
  return invalid(std::string(what) + ": " + quoted(text) + " is not 1 or 0");
}

// RFC 9110 §5.6.2 tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// application/x-www-form-urlencoded decoding: %XX and '+' for a space.
std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = hex(text[i + 1]);
      const int low = hex(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// What a request asked for through its query string.
struct Overrides {
  std::optional<int> status;
  std::optional<Duration> delay;
  std::optional<std::uint64_t> size;
  std::optional<bool> chunked;
  bool close = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<Duration> drip;
  std::uint64_t dripSize = 1;
};

constexpr std::size_t kMaxExtraHeaders = 64;
constexpr std::size_t kMaxHeaderValue = 8192;

Result<std::pair<std::string, std::string>> parseHeaderParameter(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return invalid("header: " + quoted(text) + " is not Name:Value");
  }
  const std::string_view name = text.substr(0, colon);
  const std::string_view value = trimSpaces(text.substr(colon + 1));
  if (name.empty() || name.size() > 256 || !std::all_of(name.begin(), name.end(), isTokenChar)) {
    return invalid("header: " + quoted(name) + " is not a valid header name");
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return invalid("header: the value of " + std::string(name) + " holds a control character");
    }
  }
  if (value.size() > kMaxHeaderValue) {
    return invalid("header: the value of " + std::string(name) + " is over 8192 bytes");
  }
  for (const std::string_view framing : {"Content-Length", "Transfer-Encoding", "Connection"}) {
    if (equalsIgnoreCase(name, framing)) {
      return invalid("header: " + std::string(framing) +
                     " is set by the server (use size=, chunked=1 or close=1)");
    }
  }
  if (equalsIgnoreCase(name, "X-Echo-Instance")) {
    return invalid("header: X-Echo-Instance is set by the server");
  }
  return std::pair{std::string(name), std::string(value)};
}

Result<Overrides> parseQuery(std::string_view query) {
  Overrides out;
  std::vector<std::string_view> seen;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    auto decoded =
        percentDecode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    if (!decoded) {
      return invalid(std::string(key) + ": malformed percent-encoding");
    }
    const std::string& value = *decoded;
    static constexpr std::array<std::string_view, 7> kSingle = {
        "status", "delay", "size", "chunked", "close", "drip", "drip_size"};
    if (std::find(kSingle.begin(), kSingle.end(), key) != kSingle.end()) {
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return invalid(std::string(key) + ": given more than once");
      }
      seen.push_back(key);
    }
    if (key == "status") {
      auto status = parseStatus(value, "status");
      if (!status) {
        return status.error();
      }
      out.status = status.value();
    } else if (key == "delay") {
      auto delay = parseDuration(value, "delay");
      if (!delay) {
        return delay.error();
      }
      out.delay = delay.value();
    } else if (key == "size") {
      auto size = parseSize(value, "size");
      if (!size) {
        return size.error();
      }
      out.size = size.value();
    } else if (key == "chunked" || key == "close") {
      auto flag = parseFlag(value, key);
      if (!flag) {
        return flag.error();
      }
      if (key == "close") {
        out.close = flag.value();
      } else {
        out.chunked = flag.value();
      }
    } else if (key == "header") {
      if (out.headers.size() == kMaxExtraHeaders) {
        return invalid("header: more than 64 extra headers");
      }
      auto header = parseHeaderParameter(value);
      if (!header) {
        return header.error();
      }
      out.headers.push_back(std::move(header).value());
    } else if (key == "drip") {
      auto drip = parseDuration(value, "drip");
      if (!drip) {
        return drip.error();
      }
      out.drip = drip.value();
    } else if (key == "drip_size") {
      auto size = parseSize(value, "drip_size");
      if (!size || size.value() == 0) {
        return invalid("drip_size: " + quoted(value) + " is not a size of at least 1 byte");
      }
      out.dripSize = size.value();
    }
    // Anything else (a cache buster, a hash key) is ignored.
  }
  return out;
}

// 64 KiB of the pattern plus one line, so that a write may start at any phase of the pattern.
const std::string& patternBlock() {
  static const std::string block = [] {
    std::string b;
    b.reserve(64 * 1024 + kBodyPattern.size());
    while (b.size() < 64 * 1024 + kBodyPattern.size()) {
      b.append(kBodyPattern);
    }
    return b;
  }();
  return block;
}

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      // Control characters and obs-text bytes, each as one code point (Latin-1), so the
      // document stays valid UTF-8 whatever the client sent.
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string hex64(std::uint64_t value) {
  std::array<char, 17> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%016llx", static_cast<unsigned long long>(value));
  return std::string(buffer.data(), 16);
}

// Precondition: kMinStatus <= status <= kMaxStatus (inside POCO's enum).
std::string reasonFor(int status) {
  const std::string& reason = Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  if (reason != Poco::Net::HTTPResponse::HTTP_REASON_UNKNOWN) {
    return reason;
  }
  return "Status " + std::to_string(status);
}

}  // namespace

// ---- parsing ----------------------------------------------------------------------------------

Result<Duration> parseDuration(std::string_view text, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  if (text == "0") {
    return Duration{0};
  }
  std::size_t unitAt = 0;
  while (unitAt < text.size() &&
         ((text[unitAt] >= '0' && text[unitAt] <= '9') || text[unitAt] == '.')) {
    ++unitAt;
  }
  const std::string_view number = text.substr(0, unitAt);
  const std::string_view unit = text.substr(unitAt);
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s") {
    scale = 1e9;
  }
  const auto value = parseDecimal(number);
  if (!value || scale == 0) {
    return invalid(prefix + quoted(text) +
                   " is not a duration (a number and a unit: ns, us, ms or s, e.g. 50ms)");
  }
  const double nanoseconds = *value * scale;
  if (nanoseconds > static_cast<double>(kMaxDelay.count())) {
    return invalid(prefix + quoted(text) + " is over the 60s limit");
  }
  return Duration{static_cast<Duration::rep>(std::llround(nanoseconds))};
}

Result<std::uint64_t> parseSize(std::string_view text, std::string_view what) {
  std::size_t suffixAt = 0;
  while (suffixAt < text.size() && text[suffixAt] >= '0' && text[suffixAt] <= '9') {
    ++suffixAt;
  }
  const std::string_view suffix = text.substr(suffixAt);
  int shift = -1;
  if (suffix.empty() || suffix == "B") {
    shift = 0;
  } else if (suffix == "K" || suffix == "KiB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MiB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "GiB") {
    shift = 30;
  }
  const auto value = parseInteger<std::uint64_t>(text.substr(0, suffixAt));
  if (!value || shift < 0) {
    return invalid(std::string(what) + ": " + quoted(text) +
                   " is not a size (bytes, or with a suffix: KiB, MiB, GiB)");
  }
  if (*value > (kMaxBodySize >> shift)) {
    return invalid(std::string(what) + ": " + quoted(text) + " is over the 1 TiB limit");
  }
  return *value << shift;
}

Duration LatencyDistribution::sample(core::Random& random) const {
  double nanoseconds = 0;
  switch (kind) {
    case Kind::kFixed:
      return std::clamp(a, Duration{0}, kMaxDelay);
    case Kind::kUniform:
      if (b <= a) {
        return std::clamp(a, Duration{0}, kMaxDelay);
      }
      return std::clamp(a + Duration{static_cast<Duration::rep>(
                                random.below(static_cast<std::uint64_t>((b - a).count()) + 1))},
                        Duration{0}, kMaxDelay);
    case Kind::kExponential:
      // Inverse transform; 1 - U is in (0, 1], so the log is finite.
      nanoseconds = -static_cast<double>(a.count()) * std::log(1.0 - random.uniform());
      break;
    case Kind::kLogNormal: {
      // Box-Muller for a standard normal Z; median * exp(sigma * Z).
      const double u1 = 1.0 - random.uniform();
      const double u2 = random.uniform();
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      nanoseconds = static_cast<double>(a.count()) * std::exp(sigma * z);
      break;
    }
  }
  if (!(nanoseconds >= 0)) {
    return Duration{0};
  }
  if (nanoseconds >= static_cast<double>(kMaxDelay.count())) {
    return kMaxDelay;
  }
  return Duration{static_cast<Duration::rep>(nanoseconds)};
}

namespace {
std::string formatDuration(Duration d) {
  const auto ns = d.count();
  if (ns % 1'000'000'000 == 0) {
    return std::to_string(ns / 1'000'000'000) + "s";
  }
  if (ns % 1'000'000 == 0) {
    return std::to_string(ns / 1'000'000) + "ms";
  }
  if (ns % 1'000 == 0) {
    return std::to_string(ns / 1'000) + "us";
  }
  return std::to_string(ns) + "ns";
}
}  // namespace

std::string LatencyDistribution::describe() const {
  switch (kind) {
    case Kind::kFixed:
      return formatDuration(a);
    case Kind::kUniform:
      return "uniform:" + formatDuration(a) + "-" + formatDuration(b);
    case Kind::kExponential:
      return "exp:" + formatDuration(a);
    case Kind::kLogNormal: {
      std::array<char, 32> buffer{};
      std::snprintf(buffer.data(), buffer.size(), "%g", sigma);
      return "lognormal:" + formatDuration(a) + "," + buffer.data();
    }
  }
  return {};
}

Result<LatencyDistribution> parseLatency(std::string_view text) {
  LatencyDistribution out;
  const std::size_t colon = text.find(':');
  const std::string_view kind = colon == std::string_view::npos ? "" : text.substr(0, colon);
  const std::string_view args = text.substr(colon == std::string_view::npos ? 0 : colon + 1);
  auto duration = [](std::string_view t) { return parseDuration(t, "latency"); };
  if (kind.empty()) {
    auto fixed = duration(args);
    if (!fixed) {
      return fixed.error();
    }
    out.a = fixed.value();
  } else if (kind == "uniform") {
    const std::size_t dash = args.find('-');
    if (dash == std::string_view::npos) {
      return invalid("latency: uniform wants LOW-HIGH, e.g. uniform:1ms-5ms");
    }
    auto low = duration(args.substr(0, dash));
    auto high = duration(args.substr(dash + 1));
    if (!low) {
      return low.error();
    }
    if (!high) {
      return high.error();
    }
    if (high.value() < low.value()) {
      return invalid("latency: uniform " + quoted(args) + " has HIGH below LOW");
    }
    out.kind = LatencyDistribution::Kind::kUniform;
    out.a = low.value();
    out.b = high.value();
  } else if (kind == "exp") {
    auto mean = duration(args);
    if (!mean) {
      return mean.error();
    }
    out.kind = LatencyDistribution::Kind::kExponential;
    out.a = mean.value();
  } else if (kind == "lognormal") {
    const std::size_t comma = args.find(',');
    if (comma == std::string_view::npos) {
      return invalid("latency: lognormal wants MEDIAN,SIGMA, e.g. lognormal:10ms,0.5");
    }
    auto median = duration(args.substr(0, comma));
    if (!median) {
      return median.error();
    }
    const auto sigma = parseDecimal(args.substr(comma + 1));
    if (!sigma || *sigma > 10) {
      return invalid("latency: lognormal sigma " + quoted(args.substr(comma + 1)) +
                     " is not a number in [0, 10]");
    }
    out.kind = LatencyDistribution::Kind::kLogNormal;
    out.a = median.value();
    out.sigma = *sigma;
  } else {
    return invalid("latency: unknown distribution " + quoted(kind) +
                   " (DURATION, uniform:LOW-HIGH, exp:MEAN or lognormal:MEDIAN,SIGMA)");
  }
  return out;
}

Status validate(const Options& options) {
  if (options.address.empty()) {
    return invalid("address: empty");
  }
  if (!(options.errorRate >= 0.0 && options.errorRate <= 1.0)) {
    return invalid("error-rate: " + std::to_string(options.errorRate) + " is not in [0, 1]");
  }
  for (const auto& [what, status] : {std::pair{"error-status", options.errorStatus},
                                     std::pair{"health-status", options.healthStatus}}) {
    if (status < kMinStatus || status > kMaxStatus) {
      return invalid(std::string(what) + ": " + std::to_string(status) +
                     " is not a status code 200-511");
    }
  }
  if (options.bodySize > kMaxBodySize) {
    return invalid("body-size: over the 1 TiB limit");
  }
  if (options.threads < 1 || options.threads > 10000) {
    return invalid("threads: " + std::to_string(options.threads) + " is not in [1, 10000]");
  }
  if (options.maxQueued < 1) {
    return invalid("max-queued: must be at least 1");
  }
  if (options.backlog < 1) {
    return invalid("backlog: must be at least 1");
  }
  if (options.keepAliveTimeout <= Duration{0}) {
    return invalid("keep-alive-timeout: must be positive");
  }
  if (options.name.size() > 256 ||
      !std::all_of(options.name.begin(), options.name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f;
      })) {
    return invalid("name: must be at most 256 printable ASCII characters");
  }
  return {};
}

std::string usage() {
  return R"(usage: fairway-echo [options]

A configurable HTTP/1.1 backend for demos and tests. Prints one line,
"fairway-echo listening on ADDRESS:PORT", then serves until SIGINT or SIGTERM.

  --address A             address to bind (default 127.0.0.1)
  --port N                port to bind; 0 picks a free one (default 0)
  --name NAME             X-Echo-Instance value (default ADDRESS:PORT)
  --latency DIST          service time: 5ms | uniform:1ms-5ms | exp:10ms | lognormal:10ms,0.5
  --error-rate P          probability in [0, 1] of answering --error-status (default 0)
  --error-status N        status of injected errors (default 500)
  --body-size B           default body size: bytes, or 64KiB, 2GiB ... (default 64)
  --chunked               default responses use chunked transfer encoding
  --health-status N       what /health answers (default 200)
  --threads N             connections served at once (default 256)
  --max-queued N          accepted connections waiting for a thread (default 256)
  --backlog N             listen backlog (default 1024)
  --keep-alive-timeout D  idle keep-alive connections are closed after D (default 10s)
  --seed N                seed of the latency and error draws (default: random)
  --help, --version

Per request, on any path: ?status=NNN&delay=50ms&size=65536&chunked=1&close=1
&header=Name:Value (repeatable)&drip=10ms&drip_size=N. /health answers the health
status; /echo describes the request (JSON); any other path gets the default body. A 200
with &header=ETag:"v1" is answered 304 when the request's If-None-Match names that tag.
)";
}

Result<CommandLine> parseCommandLine(std::span<const std::string_view> args) {
  CommandLine out;
  Options& o = out.options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inlineValue;
    if (arg.starts_with("--")) {
      const std::size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        inlineValue = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto flag = [&](std::string_view name) { return arg == name && !inlineValue; };
    if (flag("--help") || flag("-h")) {
      out.help = true;
      continue;
    }
    if (flag("--version")) {
      out.version = true;
      continue;
    }
    if (flag("--chunked")) {
      o.chunked = true;
      continue;
    }
    static constexpr std::array<std::string_view, 13> kValued = {
        "--address",    "--port",         "--name",      "--latency",
        "--error-rate", "--error-status", "--body-size", "--health-status",
        "--threads",    "--max-queued",   "--backlog",   "--keep-alive-timeout",
        "--seed"};
    if (std::find(kValued.begin(), kValued.end(), arg) == kValued.end()) {
      return invalid("unknown option " + quoted(args[i]));
    }
    std::string_view value;
    if (inlineValue) {
      value = *inlineValue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return invalid(std::string(arg) + ": missing value");
    }
    const std::string name(arg.substr(2));
    auto integer = [&](int low, int high) -> Result<int> {
      auto v = parseInteger<int>(value);
      if (!v || *v < low || *v > high) {
        return invalid(name + ": " + quoted(value) + " is not an integer in [" +
                       std::to_string(low) + ", " + std::to_string(high) + "]");
      }
      return *v;
    };
    if (arg == "--address") {
      o.address = std::string(value);
    } else if (arg == "--port") {
      auto port = integer(0, 65535);
      if (!port) {
        return port.error();
      }
      o.port = static_cast<std::uint16_t>(port.value());
    } else if (arg == "--name") {
      o.name = std::string(value);
    } else if (arg == "--latency") {
      auto latency = parseLatency(value);
      if (!latency) {
        return latency.error();
      }
      o.latency = latency.value();
    } else if (arg == "--error-rate") {
      const auto rate = parseDecimal(value);
      if (!rate || *rate > 1.0) {
        return invalid("error-rate: " + quoted(value) + " is not a probability in [0, 1]");
      }
      o.errorRate = *rate;
    } else if (arg == "--error-status" || arg == "--health-status") {
      auto status = parseStatus(value, name);
      if (!status) {
        return status.error();
      }
      (arg == "--error-status" ? o.errorStatus : o.healthStatus) = status.value();
    } else if (arg == "--body-size") {
      auto size = parseSize(value, name);
      if (!size) {
        return size.error();
      }
      o.bodySize = size.value();
    } else if (arg == "--threads" || arg == "--max-queued" || arg == "--backlog") {
      auto count = integer(1, arg == "--threads" ? 10000 : 1'000'000);
      if (!count) {
        return count.error();
      }
      (arg == "--threads"      ? o.threads
       : arg == "--max-queued" ? o.maxQueued
                               : o.backlog) = count.value();
    } else if (arg == "--keep-alive-timeout") {
      auto timeout = parseDuration(value, name);
      if (!timeout || timeout.value() <= Duration{0}) {
        return invalid(name + ": " + quoted(value) + " is not a positive duration up to 60s");
      }
      o.keepAliveTimeout = timeout.value();
    } else if (arg == "--seed") {
      auto seed = parseInteger<std::uint64_t>(value);
      if (!seed) {
        return invalid("seed: " + quoted(value) + " is not an unsigned integer");
      }
      o.seed = *seed;
    }
  }
  if (auto status = validate(o); !status) {
    return status.error();
  }
  return out;
}

// ---- the server -------------------------------------------------------------------------------

// State shared by the server object and the threads serving requests; outlives both.
struct detail::ServerState {
  explicit ServerState(Options o) : options(std::move(o)), healthStatus(options.healthStatus) {}

  Options options;   // fixed while running
  std::string name;  // set by start() before any request is served
  std::atomic<int> healthStatus;
  std::atomic<std::uint64_t> requests{0};

  std::mutex randomMutex;
  core::Random random;

  std::mutex stopMutex;
  std::condition_variable stopSignal;
  std::atomic<bool> stopping{false};

  // Sleeps for `d` unless the server stops first; false if it did.
  bool sleepFor(Duration d) {
    std::unique_lock lock(stopMutex);
    return !stopSignal.wait_for(lock, d, [this] { return stopping.load(); });
  }
  void setStopping(bool value) {
    {
      std::lock_guard lock(stopMutex);
      stopping = value;
    }
    stopSignal.notify_all();
  }
};

namespace {

// One reply, decided before anything is written.
struct Reply {
  int status = 200;
  std::string text;      // the body, unless `pattern`
  bool pattern = false;  // the body is `size` bytes of kBodyPattern
  std::uint64_t size = 0;
  std::string contentType = "text/plain";
  bool chunked = false;
  bool close = false;
  Duration delay{0};
  std::optional<Duration> drip;
  std::uint64_t dripSize = 1;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct BodyDigest {
  std::uint64_t length = 0;
  Fnv1a64 checksum;
  bool complete = true;
};

// Reads the whole request body in 32 KiB pieces (never buffered whole): /echo reports it, and
// elsewhere draining it keeps the connection reusable.
BodyDigest consumeBody(Poco::Net::HTTPServerRequest& request) {
  BodyDigest digest;
  // RFC 9112 §6.3: a request with neither Transfer-Encoding nor Content-Length has no body
  // (POCO would read a POST to the end of the connection).
  if (!request.getChunkedTransferEncoding() && !request.hasContentLength()) {
    return digest;
  }
  std::istream& in = request.stream();
  std::array<char, 32 * 1024> buffer;
  while (true) {
    in.read(buffer.data(), buffer.size());
    const auto n = in.gcount();
    if (n > 0) {
      digest.checksum.update(buffer.data(), static_cast<std::size_t>(n));
      digest.length += static_cast<std::uint64_t>(n);
    }
    if (!in) {
      break;
    }
  }
  digest.complete = in.eof() && !in.bad();
  if (!request.getChunkedTransferEncoding() && request.hasContentLength() &&
      digest.length != static_cast<std::uint64_t>(request.getContentLength64())) {
    digest.complete = false;
  }
  return digest;
}

// Serves one request; POCO calls it on a pool thread. Nothing escapes it.
class EchoHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit EchoHandler(std::shared_ptr<detail::ServerState> shared) : shared_(std::move(shared)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    try {
      serve(request, response);
    } catch (const Poco::Exception&) {
      // The connection broke (or the server is stopping): nothing left to tell the client.
      response.setKeepAlive(false);
    } catch (const std::exception&) {
      response.setKeepAlive(false);
    }
  }

 private:
  void serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    detail::ServerState& s = *shared_;
    s.requests.fetch_add(1, std::memory_order_relaxed);

    const std::string& target = request.getURI();
    std::string_view path = target;
    std::string_view query;
    if (const std::size_t q = path.find('?'); q != std::string_view::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    if (!path.starts_with('/')) {
      // absolute-form (RFC 9112 §3.2.2): drop "scheme://authority".
      const std::size_t scheme = path.find("://");
      const std::size_t slash =
          scheme == std::string_view::npos ? std::string_view::npos : path.find('/', scheme + 3);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    if (const std::size_t hash = query.find('#'); hash != std::string_view::npos) {
      query = query.substr(0, hash);
    }

    const BodyDigest body = consumeBody(request);
    Reply reply;
    if (!body.complete) {
      reply.status = 400;
      reply.text = "fairway-echo: the request body is malformed or cut short\n";
      reply.close = true;
      send(request, response, reply);
      return;
    }
    auto overrides = parseQuery(query);
    if (!overrides) {
      reply.status = 400;
      reply.text = "fairway-echo: bad query parameter: " + overrides.error().message + "\n";
      send(request, response, reply);
      return;
    }
    const Overrides& o = overrides.value();

    const bool health = path == "/health";
    bool injectedError = false;
    Duration delay{0};
    if (!health && (!o.status || !o.delay)) {
      std::lock_guard lock(s.randomMutex);
      // Draw in a fixed order so that a seed gives the same sequence for the same requests.
      if (s.options.errorRate > 0) {
        injectedError = s.random.uniform() < s.options.errorRate;
      }
      delay = s.options.latency.sample(s.random);
    }

    reply.delay = o.delay.value_or(delay);
    reply.chunked = o.chunked.value_or(s.options.chunked);
    reply.close = o.close;
    reply.drip = o.drip;
    reply.dripSize = o.dripSize;
    reply.headers = o.headers;

    if (health) {
      reply.status = o.status.value_or(s.healthStatus.load());
      reply.text = reply.status < 300 ? "ok\n" : "unhealthy\n";
    } else if (injectedError && !o.status) {
      reply.status = s.options.errorStatus;
      reply.text = "fairway-echo: injected error\n";
    } else if (path == "/echo") {
      reply.status = o.status.value_or(200);
      reply.contentType = "application/json";
      reply.text = describe(request, body);
    } else {
      reply.status = o.status.value_or(200);
      reply.pattern = true;
      reply.size = o.size.value_or(s.options.bodySize);
    }
    if (reply.status == 200 && notModified(request, reply.headers)) {
      reply.status = 304;
    }

    if (reply.drip) {
      const std::uint64_t length = reply.pattern ? reply.size : reply.text.size();
      const std::uint64_t pieces = (length + reply.dripSize - 1) / reply.dripSize;
      const double total = static_cast<double>(pieces) * static_cast<double>(reply.drip->count());
      if (total > static_cast<double>(kMaxDelay.count())) {
        Reply bad;
        bad.status = 400;
        bad.text = "fairway-echo: bad query parameter: drip: " + std::to_string(pieces) +
                   " pieces would take over 60s (raise drip_size)\n";
        send(request, response, bad);
        return;
      }
    }
    send(request, response, reply);
  }

  // RFC 9110 §13.1.2: If-None-Match names the ETag the response would carry (given with
  // &header=ETag:...), weakly compared, or is "*": the answer is 304, so that a cache in front can
  // revalidate.
  static bool notModified(const Poco::Net::HTTPServerRequest& request,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
    if (!request.has("If-None-Match")) {
      return false;
    }
    auto opaque = [](std::string_view tag) {
      while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
        tag.remove_prefix(1);
      }
      while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
        tag.remove_suffix(1);
      }
      return tag.starts_with("W/") ? tag.substr(2) : tag;
    };
    for (const auto& [name, etag] : headers) {
      if (!equalsIgnoreCase(name, "ETag")) {
        continue;
      }
      std::string_view list = request.get("If-None-Match");
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view tag = opaque(list.substr(0, comma));
        if (tag == "*" || tag == opaque(etag)) {
          return true;
        }
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    }
    return false;
  }

  std::string describe(const Poco::Net::HTTPServerRequest& request, const BodyDigest& body) {
    std::string out = "{\n  \"instance\": ";
    appendJsonString(out, shared_->name);
    out.append(",\n  \"method\": ");
    appendJsonString(out, request.getMethod());
    out.append(",\n  \"target\": ");
    appendJsonString(out, request.getURI());
    out.append(",\n  \"version\": ");
    appendJsonString(out, request.getVersion());
    out.append(",\n  \"remote\": ");
    appendJsonString(out, request.clientAddress().toString());
    out.append(",\n  \"headers\": [");
    bool first = true;
    for (const auto& [name, value] : request) {
      out.append(first ? "\n    [" : ",\n    [");
      first = false;
      appendJsonString(out, name);
      out.append(", ");
      appendJsonString(out, value);
      out.push_back(']');
    }
    out.append(first ? "],\n" : "\n  ],\n");
    out.append("  \"body_length\": " + std::to_string(body.length) + ",\n");
    out.append("  \"body_fnv1a64\": \"" + hex64(body.checksum.value()) + "\"\n}\n");
    return out;
  }

  void send(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
            const Reply& reply) {
    detail::ServerState& s = *shared_;
    if (reply.delay > Duration{0} && !s.sleepFor(reply.delay)) {
      response.setKeepAlive(false);
      return;  // stopping: the connection is being shut down
    }
    response.setStatus(std::to_string(reply.status));
    response.setReason(reasonFor(reply.status));
    response.set("X-Echo-Instance", s.name);
    response.setContentType(reply.contentType);
    for (const auto& [name, value] : reply.headers) {
      if (equalsIgnoreCase(name, "Content-Type")) {
        response.setContentType(value);
      } else {
        response.add(name, value);
      }
    }
    if (reply.close) {
      response.setKeepAlive(false);
    }
    // RFC 9110 §15.3.5, §15.4.5: 204 and 304 have no content.
    const bool bodyAllowed = reply.status != 204 && reply.status != 304;
    const std::uint64_t length = !bodyAllowed ? 0 : reply.pattern ? reply.size : reply.text.size();
    if (reply.chunked && bodyAllowed) {
      response.setChunkedTransferEncoding(true);
    } else if (reply.status != 204) {
      response.setContentLength64(static_cast<Poco::Int64>(length));
    }
    std::ostream& out = response.send();
    if (!bodyAllowed || request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD) {
      out.flush();
      return;
    }
    if (reply.drip) {
      out.flush();  // the head goes out before the first pause
    }
    const std::string& block = patternBlock();
    const std::uint64_t piece =
        reply.drip ? std::min<std::uint64_t>(reply.dripSize, 64 * 1024) : 64 * 1024;
    std::uint64_t written = 0;
    std::uint64_t sincePause = 0;
    while (written < length && out.good()) {
      if (reply.drip && sincePause == 0 && !s.sleepFor(*reply.drip)) {
        break;
      }
      if (!reply.drip && s.stopping.load(std::memory_order_relaxed)) {
        break;
      }
      std::uint64_t n = std::min(length - written, piece);
      if (reply.drip) {
        n = std::min(n, reply.dripSize - sincePause);
      }
      const char* data = reply.pattern ? block.data() + written % kBodyPattern.size()
                                       : reply.text.data() + written;
      out.write(data, static_cast<std::streamsize>(n));
      written += n;
      if (reply.drip) {
        sincePause += n;
        if (sincePause == reply.dripSize) {
          out.flush();
          sincePause = 0;
        }
      }
    }
    out.flush();
    if (written < length || !out.good()) {
      response.setKeepAlive(false);
    }
  }

  std::shared_ptr<detail::ServerState> shared_;
};

class EchoHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit EchoHandlerFactory(std::shared_ptr<detail::ServerState> shared)
      : shared_(std::move(shared)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new EchoHandler(shared_);
  }

 private:
  std::shared_ptr<detail::ServerState> shared_;
};

// The live connections, so that stop() can shut every one down (an idle keep-alive connection
// waits in poll() for up to the keep-alive timeout otherwise).
class ConnectionRegistry {
 public:
  void add(Poco::Net::StreamSocket& socket) {
    std::lock_guard lock(mutex_);
    if (closing_) {
      shutdown(socket);
      return;
    }
    live_.emplace(socket.impl(), socket);
  }
  void remove(Poco::Net::StreamSocket& socket) {
    std::lock_guard lock(mutex_);
    live_.erase(socket.impl());
  }
  // Shuts down every live connection and any that registers later.
  void closeAll() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    for (auto& [impl, socket] : live_) {
      shutdown(socket);
    }
  }

 private:
  static void shutdown(Poco::Net::StreamSocket& socket) {
    // Wakes a thread blocked in poll/recv/send on it; POCO closes the descriptor later.
    ::shutdown(socket.impl()->sockfd(), SHUT_RDWR);
  }

  std::mutex mutex_;
  bool closing_ = false;
  std::map<const Poco::Net::SocketImpl*, Poco::Net::StreamSocket> live_;
};

class TrackedConnection final : public Poco::Net::HTTPServerConnection {
 public:
  TrackedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                    std::shared_ptr<ConnectionRegistry> registry)
      : HTTPServerConnection(socket, std::move(params), std::move(factory)),
        registry_(std::move(registry)) {
    registry_->add(this->socket());
  }
  ~TrackedConnection() override { registry_->remove(socket()); }

 private:
  std::shared_ptr<ConnectionRegistry> registry_;
};

class TrackedConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  TrackedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                           Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                           std::shared_ptr<ConnectionRegistry> registry)
      : params_(std::move(params)), factory_(std::move(factory)), registry_(std::move(registry)) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new TrackedConnection(socket, params_, factory_, registry_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  std::shared_ptr<ConnectionRegistry> registry_;
};

// A peer that closes mid-response must not kill the process: ignore SIGPIPE unless the program
// already handles it.
void ignoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      std::signal(SIGPIPE, SIG_IGN);
    }
  });
}

}  // namespace

// One run of the server: the listening socket, the acceptor thread, the pool serving
// connections. Built by start(), torn down by stop().
class detail::Listener {
 public:
  Listener(std::shared_ptr<ServerState> shared, Poco::Net::ServerSocket socket)
      : shared_(std::move(shared)),
        socket_(std::move(socket)),
        registry_(std::make_shared<ConnectionRegistry>()),
        pool_(1, shared_->options.threads, 30) {
    const Options& o = shared_->options;
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(o.threads);
    params->setMaxQueued(o.maxQueued);
    params->setThreadIdleTime(Poco::Timespan(10, 0));
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(o.keepAliveTimeout).count()));
    params->setTimeout(Poco::Timespan(60, 0));
    params->setSoftwareVersion("fairway-echo");
    Poco::Net::HTTPRequestHandlerFactory::Ptr handlers = new EchoHandlerFactory(shared_);
    dispatcher_ = new Poco::Net::TCPServerDispatcher(
        new TrackedConnectionFactory(params, handlers, registry_), pool_, params);
  }

  ~Listener() {
    stop();
    dispatcher_->release();
    for (const int fd : wake_) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  Status start() {
    if (::pipe2(wake_.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      return Error{ErrorCode::kBindFailed, "pipe2 failed"};
    }
    ::fcntl(socket_.impl()->sockfd(), F_SETFD, FD_CLOEXEC);
    acceptor_ = std::thread([this] { acceptLoop(); });
    return {};
  }

  void stop() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    if (acceptor_.joinable()) {
      const char byte = 1;
      [[maybe_unused]] const auto n = ::write(wake_[1], &byte, 1);
      acceptor_.join();
    }
    socket_.close();
    dispatcher_->stop();
    registry_->closeAll();
    pool_.joinAll();
  }

 private:
  void acceptLoop() {
    const int listenFd = socket_.impl()->sockfd();
    std::array<pollfd, 2> fds{pollfd{listenFd, POLLIN, 0}, pollfd{wake_[0], POLLIN, 0}};
    int backoffMs = -1;
    while (true) {
      const int rc = ::poll(fds.data(), fds.size(), backoffMs);
      if (rc < 0 && errno != EINTR) {
        return;
      }
      if (fds[1].revents != 0) {
        return;
      }
      backoffMs = -1;
      if (rc <= 0 || (fds[0].revents & POLLIN) == 0) {
        continue;
      }
      for (int i = 0; i < 64; ++i) {
        const int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
            backoffMs = 10;  // EMFILE and friends: do not spin
          }
          break;
        }
        try {
          Poco::Net::StreamSocket connection(new Poco::Net::StreamSocketImpl(fd));
          connection.setNoDelay(true);
          dispatcher_->enqueue(connection);  // closed at once if the queue is full
        } catch (const Poco::Exception&) {
          // The socket went away between accept and setup; its destructor closed it.
        }
      }
    }
  }

  std::shared_ptr<ServerState> shared_;
  Poco::Net::ServerSocket socket_;
  std::shared_ptr<ConnectionRegistry> registry_;
  Poco::ThreadPool pool_;
  Poco::Net::TCPServerDispatcher* dispatcher_ = nullptr;  // reference counted by POCO
  std::array<int, 2> wake_{-1, -1};
  std::thread acceptor_;
  bool stopped_ = false;
};

EchoServer::EchoServer(Options options)
    : state_(std::make_shared<detail::ServerState>(std::move(options))) {
  const auto seed = state_->options.seed
                        ? *state_->options.seed
                        : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  state_->random = core::Random(seed);
}

EchoServer::~EchoServer() {
  stop();
}

Result<std::uint16_t> EchoServer::start() {
  std::lock_guard lock(lifecycle_);
  if (listener_) {
    return Error{ErrorCode::kAlreadyRunning, "start: the server is already running"};
  }
  if (auto status = validate(state_->options); !status) {
    return status.error();
  }
  ignoreSigpipeOnce();
  Options& o = state_->options;
  Poco::Net::ServerSocket socket;
  try {
    const Poco::Net::SocketAddress address(o.address, o.port);
    // SO_REUSEADDR (a restarted backend takes its port back while old connections sit in
    // TIME_WAIT); not SO_REUSEPORT, so two live servers never share a port.
    socket.bind(address, true, false);
    socket.listen(o.backlog);
    socket.setBlocking(false);
    o.port = socket.address().port();
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kBindFailed,
                 "bind " + o.address + ":" + std::to_string(o.port) + ": " + e.displayText()};
  }
  if (o.name.empty()) {
    o.name = o.address.find(':') == std::string::npos
                 ? o.address + ":" + std::to_string(o.port)
                 : "[" + o.address + "]:" + std::to_string(o.port);
  }
  state_->name = o.name;
  state_->setStopping(false);
  auto listener = std::make_unique<detail::Listener>(state_, std::move(socket));
  if (auto status = listener->start(); !status) {
    return status.error();
  }
  listener_ = std::move(listener);
  return o.port;
}

void EchoServer::stop() {
  std::lock_guard lock(lifecycle_);
  if (!listener_) {
    return;
  }
  state_->setStopping(true);
  listener_->stop();
  listener_.reset();
}

bool EchoServer::running() const {
  std::lock_guard lock(lifecycle_);
  return listener_ != nullptr;
}

std::uint16_t EchoServer::port() const {
  std::lock_guard lock(lifecycle_);
  return state_->options.port;
}

std::string EchoServer::name() const {
  std::lock_guard lock(lifecycle_);
  return state_->name;
}

std::uint64_t EchoServer::requestCount() const {
  return state_->requests.load(std::memory_order_relaxed);
}

void EchoServer::setHealthy(bool healthy) {
  state_->healthStatus = healthy ? 200 : 503;
}

bool EchoServer::setHealthStatus(int status) {
  if (status < kMinStatus || status > kMaxStatus) {
    return false;
  }
  state_->healthStatus = status;
  return true;
}

int EchoServer::healthStatus() const {
  return state_->healthStatus.load();
}

}  // namespace fairway::echo
