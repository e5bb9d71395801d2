#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/balancer/config.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/health/config.hpp>
#include <fairway/ratelimit/config.hpp>
#include <fairway/sim/distribution.hpp>
#include <fairway/sim/status.hpp>

namespace fairway::sim {

using Duration = std::chrono::nanoseconds;

// One fake backend (or `count` identical ones). YAML: an entry of `backends`.
struct BackendSpec {
  std::string id;             // unique, non-empty
  std::int64_t weight = 1;    // the balancer's weight, [1, 1e6]
  int servers = 1;            // requests served at once, >= 1
  std::int64_t queue = 1000;  // requests waiting beyond that; a full queue answers 503 at once
  Distribution service;       // service time, ns
  double nsPerByte = 0;       // added to the service time per byte of request size
};

// A fault on one backend, from `at` until `until` (absent: to the end).
struct FaultSpec {
  enum class Kind : std::uint8_t {
    kCrash,   // the process dies: requests in it are reset, connections refused, probes fail
    kSlow,    // service times multiplied by `factor`
    kErrors,  // each request answered `status` with probability `rate` after its service
    kRefuse,  // each connection refused with probability `rate`
    kFlap,    // crashes and recovers: down for `down`, then up for `up`, repeatedly
  };
  std::size_t backend = 0;  // index into Scenario::backends
  Kind kind = Kind::kCrash;
  Duration at{0};
  std::optional<Duration> until;
  double factor = 1;  // kSlow
  double rate = 0;    // kErrors, kRefuse: probability in [0, 1]
  int status = 500;   // kErrors
  Duration up{0};     // kFlap
  Duration down{0};   // kFlap
  // Gray failure: health probes do not see it (they pass and stay fast) while requests fail or
  // crawl. For kSlow, kErrors and kRefuse.
  bool gray = false;
};

// Where requests come from. YAML: an entry of `traffic`.
struct SourceSpec {
  enum class Kind : std::uint8_t {
    kPoisson,  // open loop, exponential gaps at `rate` per second
    kOnOff,    // Poisson at `rate` for `on`, then at `rateOff` for `off`, repeatedly
    kRamp,     // Poisson whose rate moves linearly from `rate` to `rateTo` over [start, end)
    kDiurnal,  // Poisson at rate × (1 + amplitude × sin(2π t / period))
    kReplay,   // a request log: CSV lines "time,key,size" (seconds since start, any string, bytes)
    kClosed,   // closed loop: `population` clients, each waiting `think` between its requests
  };
  Kind kind = Kind::kPoisson;
  Duration start{0};
  std::optional<Duration> end;  // absent: the scenario's duration
  double rate = 0;              // requests per second
  double rateOff = 0;           // kOnOff
  double rateTo = 0;            // kRamp
  Duration on{0};               // kOnOff
  Duration off{0};              // kOnOff
  double amplitude = 0;         // kDiurnal, in [0, 1]
  Duration period{0};           // kDiurnal
  std::string file;             // kReplay, resolved against the scenario file's directory
  int population = 0;           // kClosed
  Distribution think;           // kClosed, ns
  Distribution size = Distribution::deterministic(1024);  // request size, bytes
};

// Which key each request carries (consistent hashing, per-client rate limits, the cache).
struct KeySpec {
  std::uint64_t count = 1000;  // distinct keys, >= 1
  double zipf = 0;             // popularity exponent; 0: uniform
};

// Clients (or the proxy's retry policy, which behaves the same): a timeout per attempt, retries
// with exponential backoff, and an optional retry budget.
struct RetrySpec {
  int max = 0;  // retries per request (attempts = 1 + max)
  Duration backoffBase = std::chrono::milliseconds(25);
  double backoffMultiplier = 2;
  Duration backoffMax = std::chrono::seconds(1);
  breaker::Jitter jitter = breaker::Jitter::kFull;
  // Envoy's retry budget: retries in progress at most max(minConcurrency, percent% of the
  // requests in progress). Unset: no budget.
  std::optional<double> budgetPercent;
  int budgetMinConcurrency = 3;
  // What is retried: errors (5xx), timeouts, refused connections, no backend available (503
  // from the balancer or breakers), overload (a full backend queue's 503).
  bool onError = true;
  bool onTimeout = true;
  bool onRefused = true;
  bool onUnavailable = true;
  bool onOverload = true;
  bool otherBackend = true;  // a retry avoids the backend that just failed when it can
};

struct ClientSpec {
  Duration timeout{0};  // per attempt; 0: none
  RetrySpec retries;
};

struct RateLimitSpec {
  ratelimit::Config config;
  bool perKey = false;  // false: one global quota; true: one quota per request key
};

// Cache hit/miss by key popularity, through the cache library's memory store and policy.
struct CacheSpec {
  std::int64_t maxSize = 1000;   // stored responses
  std::chrono::seconds ttl{60};  // max-age the backends send
  std::string policy = "lru";    // lru, s3fifo
  Duration hitLatency = std::chrono::microseconds(100);
};

// Everything a run needs. Plain values; parseScenario() fills and validates them.
struct Scenario {
  std::string name;
  std::string description;
  Duration duration = std::chrono::seconds(60);  // arrivals stop here; requests then drain
  Duration warmup{0};                            // requests arriving before this are not measured
  std::uint64_t seed = 1;
  std::vector<std::string> algorithms;  // what fairway-sim compares by default
  balancer::Config balancer;            // algorithm and endpoints are set per run
  std::optional<health::HealthCheckConfig> healthCheck;
  Duration probeLatency = std::chrono::milliseconds(1);  // a healthy probe's round trip
  std::optional<health::OutlierConfig> outlier;
  std::optional<breaker::Config> breaker;
  std::optional<RateLimitSpec> rateLimit;
  std::optional<CacheSpec> cache;
  ClientSpec client;
  KeySpec keys;
  Duration rtt{0};         // network round trip added to every response and refusal
  Duration resolution{0};  // timeline bucket; 0: duration / 120
  std::vector<BackendSpec> backends;
  std::vector<SourceSpec> traffic;
  std::vector<FaultSpec> faults;
  std::string baseDir;  // where relative file names (replay logs) are resolved
};

// Parses a scenario from YAML text. Unknown keys, wrong types and values out of range are errors
// whose message names the key path and the rule: "backends[1].service.mean: must be > 0 (got 0)".
// `baseDir` resolves relative replay file names. Never throws.
Result<Scenario> parseScenario(std::string_view yaml, std::string_view baseDir = ".");

// Reads and parses a scenario file; errors start with the file name.
Result<Scenario> loadScenario(const std::string& path);

// Checks the cross-field rules parseScenario() applies, for scenarios built in code.
Status validate(const Scenario& scenario);

// "1.5s", "250ms", "3us", "0s": a duration as scenario files write it.
std::string formatDuration(Duration duration);
// Parses "250ms", "1.5s", "2m", "1h", "100us", "10ns", or a bare number of seconds.
std::optional<Duration> parseDuration(std::string_view text);

std::string_view toString(FaultSpec::Kind kind);
std::string_view toString(SourceSpec::Kind kind);

}  // namespace fairway::sim
