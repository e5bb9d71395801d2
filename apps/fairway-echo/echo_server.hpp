#pragma once

// fairway-echo: a configurable HTTP/1.1 backend for demos and tests (POCO Net's HTTP server
// machinery: a thread pool, one thread per live connection, keep-alive on).
//
// Every response the server produces carries `X-Echo-Instance: <name>` and a `Content-Type`.
// Paths: `/health` (200 "ok", or the status set by setHealthStatus()/setHealthy()), `/echo` (a
// JSON description of the request as received) and anything else (the default response: a body
// of Options::bodySize bytes of kBodyPattern). Query parameters on any path override the server's
// defaults for one request; see README.md for the full list.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fairway/core/random.hpp>
#include <fairway/core/result.hpp>

namespace fairway::echo {

namespace detail {
struct ServerState;
class Listener;
}  // namespace detail

enum class ErrorCode {
  kInvalidArgument,  // an option or a parameter is malformed or out of range
  kBindFailed,       // the address could not be bound (in use, not local, ...)
  kAlreadyRunning,   // start() on a running server
};
using Error = core::Error<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;
using Status = core::Status<ErrorCode>;

using Duration = std::chrono::nanoseconds;

// The statuses a response may have. POCO keeps a status in an enum whose values end at 511, so
// 512-599 (none registered) would be undefined behaviour there; 1xx are not final responses.
inline constexpr int kMinStatus = 200;
inline constexpr int kMaxStatus = 511;

// Upper bound of any delay: a `delay=` parameter, a latency sample, a drip schedule.
inline constexpr Duration kMaxDelay = std::chrono::seconds(60);
// Upper bound of a body size (`size=`, --body-size): 1 TiB. Bodies are streamed, never allocated.
inline constexpr std::uint64_t kMaxBodySize = std::uint64_t{1} << 40;

// The default body: byte i is kBodyPattern[i % kBodyPattern.size()] (64-byte lines).
inline constexpr std::string_view kBodyPattern =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-\n";

// "50ms", "1.5s", "250us", "10ns", or "0". A unit is required for anything but 0. Fails on
// negative, malformed or over kMaxDelay values, with a message naming `what`.
Result<Duration> parseDuration(std::string_view text, std::string_view what);

// Bytes: "65536", or with a binary suffix "64KiB", "16MiB", "2GiB" (also "K", "M", "G"). Up to
// kMaxBodySize.
Result<std::uint64_t> parseSize(std::string_view text, std::string_view what);

// A service-time distribution; every sample is clamped to [0, kMaxDelay].
struct LatencyDistribution {
  enum class Kind { kFixed, kUniform, kExponential, kLogNormal };
  Kind kind = Kind::kFixed;
  Duration a{0};       // fixed: the value; uniform: low; exponential: mean; lognormal: median
  Duration b{0};       // uniform: high
  double sigma = 0.0;  // lognormal: the standard deviation of the log

  // One sample. Not thread-safe through `random` (the caller serialises).
  Duration sample(core::Random& random) const;
  // The command-line form, e.g. "uniform:1ms-5ms".
  std::string describe() const;
};

// "5ms" (fixed), "uniform:1ms-5ms", "exp:10ms" (exponential with that mean),
// "lognormal:10ms,0.5" (median, sigma of the log).
Result<LatencyDistribution> parseLatency(std::string_view text);

// FNV-1a, 64 bits: the checksum /echo reports for a request body (`body_fnv1a64`, 16 hex digits).
class Fnv1a64 {
 public:
  void update(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      hash_ ^= static_cast<unsigned char>(data[i]);
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

struct Options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;       // 0: a free port, reported by start() and port()
  std::string name;             // X-Echo-Instance; empty: "address:port" once bound
  LatencyDistribution latency;  // default: fixed 0
  double errorRate = 0.0;       // probability in [0, 1] that a request gets errorStatus
  int errorStatus = 500;
  std::uint64_t bodySize = 64;  // default response body, bytes of kBodyPattern
  bool chunked = false;         // default responses use chunked transfer encoding
  int healthStatus = 200;       // what /health answers until setHealthStatus()/setHealthy()
  int threads = 256;            // at most this many connections are served at once
  int maxQueued = 256;          // accepted connections waiting for a thread; more are closed
  int backlog = 1024;           // listen(2) backlog
  Duration keepAliveTimeout = std::chrono::seconds(10);  // an idle connection is closed after
  std::optional<std::uint64_t> seed;  // latency and error draws; unset: from std::random_device
};

// Checks ranges (statuses 200-511, rate in [0, 1], threads >= 1, ...); start() calls it too.
Status validate(const Options& options);

// What main() runs: the parsed command line.
struct CommandLine {
  Options options;
  bool help = false;
  bool version = false;
};
// Parses the arguments after the program name: `--name value` or `--name=value`.
Result<CommandLine> parseCommandLine(std::span<const std::string_view> args);
// The --help text.
std::string usage();

// One echo server. All methods are thread-safe. Served requests run on the server's own threads.
class EchoServer {
 public:
  explicit EchoServer(Options options = {});
  ~EchoServer();  // stop()
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Binds (SO_REUSEADDR, so a new server can take a port whose connections are in TIME_WAIT),
  // listens and starts serving; returns the bound port. After stop(), start() serves again on the
  // same port as before (a backend "coming back"); Options::port 0 picks a free one only the
  // first time.
  Result<std::uint16_t> start();

  // Closes the listener and every live connection (in-flight requests, delays and drips are cut
  // short; idle keep-alive connections are shut down) and returns once no request is being
  // served. Idempotent. Tests use it as "the backend died".
  void stop();

  bool running() const;
  // The bound port once started; before the first start(), Options::port.
  std::uint16_t port() const;
  // The X-Echo-Instance value: Options::name, or "address:port" once started.
  std::string name() const;
  // Requests handled since construction (every path, including /health and rejected ones).
  std::uint64_t requestCount() const;

  // What /health answers from now on: 200 when healthy, 503 when not. Other paths are unaffected
  // (a gray failure).
  void setHealthy(bool healthy);
  // Any status 200-511 for /health; out of range values are ignored and return false.
  bool setHealthStatus(int status);
  int healthStatus() const;

 private:
  mutable std::mutex lifecycle_;  // start() and stop()
  std::shared_ptr<detail::ServerState> state_;
  std::unique_ptr<detail::Listener> listener_;
};

}  // namespace fairway::echo
