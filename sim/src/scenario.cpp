#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>

#include <yaml-cpp/yaml.h>

#include <fairway/balancer/config.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/health/config.hpp>
#include <fairway/ratelimit/limiter.hpp>
#include <fairway/sim/scenario.hpp>

namespace fairway::sim {

std::string formatDuration(Duration duration) {
  const std::int64_t ns = duration.count();
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  if (ns == 0) {
    return "0s";
  }
  for (const Unit& unit : kUnits) {
    if (ns % unit.size == 0) {
      return std::to_string(ns / unit.size) + unit.name;
    }
  }
  // Not a whole number of any unit above a nanosecond: the largest unit it reaches, with decimals.
  for (const Unit& unit : kUnits) {
    if (std::abs(ns) >= unit.size && unit.size > 1) {
      char text[48];
      std::snprintf(text, sizeof text, "%.6g%s",
                    static_cast<double>(ns) / static_cast<double>(unit.size), unit.name);
      return text;
    }
  }
  return std::to_string(ns) + "ns";
}

namespace {

std::optional<double> parseNumber(std::string_view text) {
  std::string s(text);
  if (s.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text) {
  while (!text.empty() && text.back() == ' ') {
    text.remove_suffix(1);
  }
  struct Unit {
    std::string_view suffix;
    double ns;
  };
  // Longest suffixes first, so "ms" is not read as "m" + "s".
  static constexpr Unit kUnits[] = {{"ns", 1},  {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"ms", 1e6},
                                    {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double scale = 1e9;  // a bare number is seconds
  for (const Unit& unit : kUnits) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      scale = unit.ns;
      text.remove_suffix(unit.suffix.size());
      break;
    }
  }
  const auto v = parseNumber(text);
  if (!v || *v * scale > 9.2e18 || *v * scale < -9.2e18) {
    return std::nullopt;
  }
  return Duration(static_cast<std::int64_t>(std::llround(*v * scale)));
}

std::string_view toString(FaultSpec::Kind kind) {
  switch (kind) {
    case FaultSpec::Kind::kCrash:
      return "crash";
    case FaultSpec::Kind::kSlow:
      return "slow";
    case FaultSpec::Kind::kErrors:
      return "errors";
    case FaultSpec::Kind::kRefuse:
      return "refuse";
    case FaultSpec::Kind::kFlap:
      return "flap";
  }
  return "?";
}

std::string_view toString(SourceSpec::Kind kind) {
  switch (kind) {
    case SourceSpec::Kind::kPoisson:
      return "poisson";
    case SourceSpec::Kind::kOnOff:
      return "onoff";
    case SourceSpec::Kind::kRamp:
      return "ramp";
    case SourceSpec::Kind::kDiurnal:
      return "diurnal";
    case SourceSpec::Kind::kReplay:
      return "replay";
    case SourceSpec::Kind::kClosed:
      return "closed";
  }
  return "?";
}

namespace {

std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

std::string shown(const YAML::Node& node) {
  if (node.IsScalar()) {
    return "'" + node.Scalar() + "'";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (node.IsMap()) {
    return "a map";
  }
  return "nothing";
}

std::string fmt(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// Reads one YAML document into a Scenario, keeping the first error. Every accessor names the key
// path in its message; nothing here throws (yaml-cpp's own exceptions are caught around it).
class Parser {
 public:
  explicit Parser(std::string baseDir) : baseDir_(std::move(baseDir)) {}

  Result<Scenario> parse(const YAML::Node& root) {
    Scenario s;
    s.baseDir = baseDir_;
    if (!root.IsMap()) {
      return Error{ErrorCode::kInvalidArgument,
                   "scenario: must be a map of keys (name, duration, backends, traffic, ...)"};
    }
    keys(root, "",
         {"name", "description", "duration", "warmup", "seed", "algorithms", "balancer",
          "health_check", "outlier", "breaker", "rate_limit", "cache", "client", "keys", "network",
          "report", "backends", "traffic", "faults"});
    string(root, "", "name", s.name);
    string(root, "", "description", s.description);
    duration(root, "", "duration", s.duration, true);
    duration(root, "", "warmup", s.warmup, false);
    if (const YAML::Node n = root["seed"]; n) {
      std::uint64_t seed = 0;
      const std::string& text = n.IsScalar() ? n.Scalar() : std::string();
      const bool hex = text.starts_with("0x");
      const char* first = text.data() + (hex ? 2 : 0);
      const auto [ptr, ec] = std::from_chars(first, text.data() + text.size(), seed, hex ? 16 : 10);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        fail("seed", "must be an unsigned 64-bit integer (got " + shown(n) + ")");
      }
      s.seed = seed;
    }
    if (const YAML::Node n = root["algorithms"]; n) {
      if (!n.IsSequence()) {
        fail("algorithms", "must be a list of algorithm names (got " + shown(n) + ")");
      } else {
        for (std::size_t i = 0; i < n.size(); ++i) {
          const std::string path = "algorithms[" + std::to_string(i) + "]";
          if (!n[i].IsScalar()) {
            fail(path, "must be an algorithm name (got " + shown(n[i]) + ")");
            continue;
          }
          s.algorithms.push_back(n[i].Scalar());
          algorithmName(path, s.algorithms.back());
        }
      }
    }
    balancerSection(root["balancer"], s.balancer);
    if (const YAML::Node n = root["health_check"]; n) {
      s.healthCheck = health::HealthCheckConfig{};
      healthSection(n, *s.healthCheck, s.probeLatency);
    }
    if (const YAML::Node n = root["outlier"]; n) {
      s.outlier = health::OutlierConfig{};
      outlierSection(n, *s.outlier);
    }
    if (const YAML::Node n = root["breaker"]; n) {
      s.breaker = breaker::Config{};
      breakerSection(n, *s.breaker);
    }
    if (const YAML::Node n = root["rate_limit"]; n) {
      s.rateLimit = RateLimitSpec{};
      rateLimitSection(n, *s.rateLimit);
    }
    if (const YAML::Node n = root["cache"]; n) {
      s.cache = CacheSpec{};
      cacheSection(n, *s.cache);
    }
    clientSection(root["client"], s.client);
    if (const YAML::Node n = root["keys"]; isMap(n, "keys")) {
      keys(n, "keys", {"count", "zipf"});
      integer(n, "keys", "count", s.keys.count, 1, std::uint64_t{1} << 48);
      number(n, "keys", "zipf", s.keys.zipf, 0, 10);
    }
    if (const YAML::Node n = root["network"]; isMap(n, "network")) {
      keys(n, "network", {"rtt"});
      duration(n, "network", "rtt", s.rtt, false);
    }
    if (const YAML::Node n = root["report"]; isMap(n, "report")) {
      keys(n, "report", {"resolution"});
      duration(n, "report", "resolution", s.resolution, true);
    }
    backendsSection(root["backends"], s.backends);
    trafficSection(root["traffic"], s.traffic);
    faultsSection(root["faults"], s);
    if (error_) {
      return *error_;
    }
    if (Status status = validate(s); !status) {
      return status.error();
    }
    return s;
  }

 private:
  bool fail(const std::string& path, const std::string& message) {
    if (!error_) {
      error_ = Error{ErrorCode::kInvalidArgument, path + ": " + message};
    }
    return false;
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  // True when `node` is present and a map; an error when present and something else.
  bool isMap(const YAML::Node& node, const std::string& path) {
    if (!node) {
      return false;
    }
    if (!node.IsMap()) {
      return fail(path, "must be a map (got " + shown(node) + ")");
    }
    return true;
  }

  void keys(const YAML::Node& map, const std::string& path,
            std::initializer_list<std::string_view> known) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(join(path, key), "unknown key (known here: " + sim::join(known) + ")");
      }
    }
  }

  void string(const YAML::Node& map, const std::string& path, std::string_view key,
              std::string& out) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return;
    }
    if (!n.IsScalar()) {
      fail(join(path, key), "must be a string (got " + shown(n) + ")");
      return;
    }
    out = n.Scalar();
  }

  bool duration(const YAML::Node& map, const std::string& path, std::string_view key, Duration& out,
                bool positive) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return false;
    }
    const std::optional<Duration> d = n.IsScalar() ? parseDuration(n.Scalar()) : std::nullopt;
    if (!d) {
      return fail(join(path, key),
                  "must be a duration such as 250ms, 1.5s or 2m (got " + shown(n) + ")");
    }
    if (positive ? d->count() <= 0 : d->count() < 0) {
      return fail(join(path, key), std::string(positive ? "must be > 0" : "must be >= 0") +
                                       " (got " + shown(n) + ")");
    }
    out = *d;
    return true;
  }

  template <typename D>
  bool duration(const YAML::Node& map, const std::string& path, std::string_view key,
                std::optional<D>& out, bool positive) {
    Duration d{0};
    if (!duration(map, path, key, d, positive)) {
      return false;
    }
    out = std::chrono::duration_cast<D>(d);
    return true;
  }

  template <typename D>
  bool durationAs(const YAML::Node& map, const std::string& path, std::string_view key, D& out,
                  bool positive) {
    Duration d{0};
    if (!duration(map, path, key, d, positive)) {
      return false;
    }
    out = std::chrono::duration_cast<D>(d);
    if (positive && out.count() == 0) {
      return fail(join(path, key),
                  "must be at least 1 " +
                      std::string(std::is_same_v<D, std::chrono::seconds> ? "second" : "unit") +
                      " (got " + shown(map[std::string(key)]) + ")");
    }
    return true;
  }

  bool number(const YAML::Node& map, const std::string& path, std::string_view key, double& out,
              double low, double high) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return false;
    }
    const std::optional<double> v = n.IsScalar() ? parseNumber(n.Scalar()) : std::nullopt;
    if (!v) {
      return fail(join(path, key), "must be a number (got " + shown(n) + ")");
    }
    if (*v < low || *v > high) {
      return fail(join(path, key),
                  "must be in [" + fmt(low) + ", " + fmt(high) + "] (got " + shown(n) + ")");
    }
    out = *v;
    return true;
  }

  template <typename Int>
  bool integer(const YAML::Node& map, const std::string& path, std::string_view key, Int& out,
               double low, double high) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return false;
    }
    const std::optional<double> v = n.IsScalar() ? parseNumber(n.Scalar()) : std::nullopt;
    if (!v || std::floor(*v) != *v) {
      return fail(join(path, key), "must be an integer (got " + shown(n) + ")");
    }
    if (*v < low || *v > high) {
      return fail(join(path, key),
                  "must be in [" + fmt(low) + ", " + fmt(high) + "] (got " + shown(n) + ")");
    }
    out = static_cast<Int>(*v);
    return true;
  }

  bool boolean(const YAML::Node& map, const std::string& path, std::string_view key, bool& out) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return false;
    }
    const std::string text = n.IsScalar() ? n.Scalar() : std::string();
    if (text == "true" || text == "yes" || text == "on") {
      out = true;
    } else if (text == "false" || text == "no" || text == "off") {
      out = false;
    } else {
      return fail(join(path, key), "must be true or false (got " + shown(n) + ")");
    }
    return true;
  }

  // One of `names`; returns its index, or -1 (with an error) when the value is not among them.
  int choice(const YAML::Node& map, const std::string& path, std::string_view key,
             std::initializer_list<std::string_view> names) {
    const YAML::Node n = map[std::string(key)];
    if (!n) {
      return -1;
    }
    const std::string text = n.IsScalar() ? n.Scalar() : std::string();
    int i = 0;
    for (std::string_view name : names) {
      if (text == name) {
        return i;
      }
      ++i;
    }
    fail(join(path, key), "must be one of " + sim::join(names) + " (got " + shown(n) + ")");
    return -1;
  }

  void algorithmName(const std::string& path, const std::string& name) {
    const auto& known = balancer::algorithmNames();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      fail(path, "unknown algorithm '" + name + "' (known: " + sim::join(known) + ")");
    }
  }

  // A distribution: a bare duration (deterministic), or {dist, mean, sigma | alpha}.
  void distribution(const YAML::Node& n, const std::string& path, Distribution& out,
                    bool asDuration) {
    if (!n) {
      return;
    }
    if (n.IsScalar()) {
      if (asDuration) {
        const auto d = parseDuration(n.Scalar());
        if (!d || d->count() <= 0) {
          fail(path, "must be a positive duration or {dist, mean, ...} (got " + shown(n) + ")");
          return;
        }
        out = Distribution::deterministic(static_cast<double>(d->count()));
      } else {
        const auto v = parseNumber(n.Scalar());
        if (!v || *v <= 0) {
          fail(path, "must be a positive number or {dist, mean, ...} (got " + shown(n) + ")");
          return;
        }
        out = Distribution::deterministic(*v);
      }
      return;
    }
    if (!isMap(n, path)) {
      return;
    }
    keys(n, path, {"dist", "mean", "sigma", "alpha"});
    const int kind =
        choice(n, path, "dist", {"deterministic", "exponential", "lognormal", "pareto"});
    if (!n["dist"]) {
      fail(join(path, "dist"), "missing (one of deterministic, exponential, lognormal, pareto)");
      return;
    }
    double mean = 0;
    if (!n["mean"]) {
      fail(join(path, "mean"), "missing");
      return;
    }
    if (asDuration) {
      Duration d{0};
      if (!duration(n, path, "mean", d, true)) {
        return;
      }
      mean = static_cast<double>(d.count());
    } else if (!number(n, path, "mean", mean, 1e-9, 1e18)) {
      return;
    }
    switch (kind) {
      case 0:
        out = Distribution::deterministic(mean);
        break;
      case 1:
        out = Distribution::exponential(mean);
        break;
      case 2: {
        double sigma = 1.0;
        number(n, path, "sigma", sigma, 1e-6, 10);
        out = Distribution::lognormal(mean, sigma);
        break;
      }
      case 3: {
        double alpha = 2.5;
        if (n["alpha"]) {
          number(n, path, "alpha", alpha, 1.000001, 1000);
        }
        out = Distribution::pareto(mean, alpha);
        break;
      }
      default:
        break;
    }
    if (kind != 2 && n["sigma"]) {
      fail(join(path, "sigma"), "only for dist: lognormal");
    }
    if (kind != 3 && n["alpha"]) {
      fail(join(path, "alpha"), "only for dist: pareto");
    }
  }

  void balancerSection(const YAML::Node& n, balancer::Config& c) {
    const std::string p = "balancer";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p, {"algorithm", "slow_start", "panic", "hash", "ewma"});
    string(n, p, "algorithm", c.algorithm);
    if (n["algorithm"]) {
      algorithmName(p + ".algorithm", c.algorithm);
    }
    if (const YAML::Node s = n["slow_start"]; isMap(s, p + ".slow_start")) {
      const std::string q = p + ".slow_start";
      keys(s, q, {"window", "aggression", "min_weight_percent", "steps"});
      duration(s, q, "window", c.slowStart.window, false);
      number(s, q, "aggression", c.slowStart.aggression, 1e-6, 1e6);
      number(s, q, "min_weight_percent", c.slowStart.minWeightPercent, 1e-6, 100);
      integer(s, q, "steps", c.slowStart.steps, 1, 1e6);
    }
    if (const YAML::Node s = n["panic"]; isMap(s, p + ".panic")) {
      const std::string q = p + ".panic";
      keys(s, q, {"threshold", "mode"});
      number(s, q, "threshold", c.panic.threshold, 0, 1);
      const int mode = choice(s, q, "mode", {"balance_all", "fail"});
      if (mode >= 0) {
        c.panic.mode = mode == 0 ? balancer::PanicConfig::Mode::kBalanceAll
                                 : balancer::PanicConfig::Mode::kFail;
      }
    }
    if (const YAML::Node s = n["hash"]; isMap(s, p + ".hash")) {
      const std::string q = p + ".hash";
      keys(s, q, {"points_per_endpoint", "balance_factor"});
      integer(s, q, "points_per_endpoint", c.hash.pointsPerEndpoint, 1, 4096);
      number(s, q, "balance_factor", c.hash.balanceFactor, 0, 1e6);
    }
    if (const YAML::Node s = n["ewma"]; isMap(s, p + ".ewma")) {
      const std::string q = p + ".ewma";
      keys(s, q, {"decay", "penalty"});
      duration(s, q, "decay", c.ewma.decay, true);
      duration(s, q, "penalty", c.ewma.penalty, true);
    }
  }

  void healthSection(const YAML::Node& n, health::HealthCheckConfig& c, Duration& probeLatency) {
    const std::string p = "health_check";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p,
         {"interval", "timeout", "rise", "fall", "fast_interval", "down_interval", "jitter_percent",
          "initial_state", "path", "probe_latency"});
    duration(n, p, "interval", c.interval, false);
    duration(n, p, "timeout", c.probe.timeout, false);
    integer(n, p, "rise", c.rise, -1e9, 1e9);
    integer(n, p, "fall", c.fall, -1e9, 1e9);
    duration(n, p, "fast_interval", c.fastInterval, false);
    duration(n, p, "down_interval", c.downInterval, false);
    number(n, p, "jitter_percent", c.jitterPercent, -1e9, 1e9);
    string(n, p, "path", c.probe.path);
    const int initial = choice(n, p, "initial_state", {"up", "fully_up", "down", "fully_down"});
    if (initial >= 0) {
      c.initialState = static_cast<health::InitialState>(initial);
    }
    duration(n, p, "probe_latency", probeLatency, false);
    if (const auto status = health::validate(c); !status && !error_) {
      error_ = Error{ErrorCode::kInvalidArgument, status.message()};
    }
  }

  void outlierSection(const YAML::Node& n, health::OutlierConfig& c) {
    const std::string p = "outlier";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p,
         {"interval", "base_ejection_time", "max_ejection_time", "max_ejection_percent",
          "always_eject_one_host", "consecutive_5xx", "consecutive_gateway_failure",
          "failure_percentage_threshold", "failure_percentage_minimum_hosts",
          "failure_percentage_request_volume"});
    duration(n, p, "interval", c.interval, false);
    duration(n, p, "base_ejection_time", c.baseEjectionTime, false);
    duration(n, p, "max_ejection_time", c.maxEjectionTime, false);
    number(n, p, "max_ejection_percent", c.maxEjectionPercent, -1e9, 1e9);
    boolean(n, p, "always_eject_one_host", c.alwaysEjectOneHost);
    integer(n, p, "consecutive_5xx", c.consecutive5xx, -1e9, 1e9);
    integer(n, p, "consecutive_gateway_failure", c.consecutiveGatewayFailure, -1e9, 1e9);
    number(n, p, "failure_percentage_threshold", c.failurePercentageThreshold, -1e9, 1e9);
    integer(n, p, "failure_percentage_minimum_hosts", c.failurePercentageMinimumHosts, -1e9, 1e9);
    integer(n, p, "failure_percentage_request_volume", c.failurePercentageRequestVolume, -1e9, 1e9);
    if (const auto status = health::validate(c); !status && !error_) {
      error_ = Error{ErrorCode::kInvalidArgument, status.message()};
    }
  }

  void breakerSection(const YAML::Node& n, breaker::Config& c) {
    const std::string p = "breaker";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p,
         {"consecutive_failures", "failure_rate", "slow_call", "window", "backoff", "half_open"});
    if (const YAML::Node v = n["consecutive_failures"]; v) {
      if (v.IsScalar() && (v.Scalar() == "off" || v.Scalar() == "null" || v.Scalar() == "~")) {
        c.consecutiveFailures.reset();
      } else {
        std::int64_t k = 0;
        if (integer(n, p, "consecutive_failures", k, -1e9, 1e9)) {
          c.consecutiveFailures = k;
        }
      }
    }
    if (const YAML::Node s = n["failure_rate"]; isMap(s, p + ".failure_rate")) {
      keys(s, p + ".failure_rate", {"threshold"});
      c.failureRate = breaker::FailureRateConfig{};
      number(s, p + ".failure_rate", "threshold", c.failureRate->threshold, -1e9, 1e9);
    }
    if (const YAML::Node s = n["slow_call"]; isMap(s, p + ".slow_call")) {
      keys(s, p + ".slow_call", {"duration", "threshold"});
      c.slowCall = breaker::SlowCallConfig{};
      duration(s, p + ".slow_call", "duration", c.slowCall->duration, false);
      number(s, p + ".slow_call", "threshold", c.slowCall->threshold, -1e9, 1e9);
    }
    if (const YAML::Node s = n["window"]; isMap(s, p + ".window")) {
      const std::string q = p + ".window";
      keys(s, q, {"kind", "size", "duration", "buckets", "minimum_calls"});
      const int kind = choice(s, q, "kind", {"count", "time"});
      if (kind >= 0) {
        c.window.kind =
            kind == 0 ? breaker::WindowConfig::Kind::kCount : breaker::WindowConfig::Kind::kTime;
      }
      integer(s, q, "size", c.window.size, -1e12, 1e12);
      duration(s, q, "duration", c.window.duration, false);
      integer(s, q, "buckets", c.window.buckets, -1e12, 1e12);
      integer(s, q, "minimum_calls", c.window.minimumCalls, -1e12, 1e12);
    }
    if (const YAML::Node s = n["backoff"]; isMap(s, p + ".backoff")) {
      const std::string q = p + ".backoff";
      keys(s, q, {"base", "multiplier", "max", "jitter", "reset_after"});
      duration(s, q, "base", c.backoff.base, false);
      number(s, q, "multiplier", c.backoff.multiplier, -1e9, 1e9);
      duration(s, q, "max", c.backoff.max, false);
      const int jitter = choice(s, q, "jitter", {"none", "full", "equal"});
      if (jitter >= 0) {
        c.backoff.jitter = static_cast<breaker::Jitter>(jitter);
      }
      duration(s, q, "reset_after", c.backoff.resetAfter, false);
    }
    if (const YAML::Node s = n["half_open"]; isMap(s, p + ".half_open")) {
      const std::string q = p + ".half_open";
      keys(s, q, {"probes", "successes_to_close"});
      integer(s, q, "probes", c.halfOpen.probes, -1e12, 1e12);
      std::int64_t k = 0;
      if (integer(s, q, "successes_to_close", k, -1e12, 1e12)) {
        c.halfOpen.successesToClose = k;
      }
    }
    if (const auto status = breaker::validate(c); !status && !error_) {
      error_ = Error{ErrorCode::kInvalidArgument, "breaker." + status.message()};
    }
  }

  void rateLimitSection(const YAML::Node& n, RateLimitSpec& r) {
    const std::string p = "rate_limit";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p, {"algorithm", "requests_per_second", "burst", "window", "max_keys", "key"});
    string(n, p, "algorithm", r.config.algorithm);
    number(n, p, "requests_per_second", r.config.rate.requestsPerSecond, -1e18, 1e18);
    integer(n, p, "burst", r.config.rate.burst, -1e15, 1e15);
    duration(n, p, "window", r.config.window, false);
    integer(n, p, "max_keys", r.config.maxKeys, 0, 1e9);
    const int key = choice(n, p, "key", {"global", "request_key"});
    r.perKey = key == 1;
    if (const auto status = ratelimit::validate(r.config); !status && !error_) {
      error_ = Error{ErrorCode::kInvalidArgument, status.message()};
    }
  }

  void cacheSection(const YAML::Node& n, CacheSpec& c) {
    const std::string p = "cache";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p, {"max_size", "ttl", "policy", "hit_latency"});
    integer(n, p, "max_size", c.maxSize, 1, 1e9);
    durationAs(n, p, "ttl", c.ttl, true);
    const int policy = choice(n, p, "policy", {"lru", "s3fifo"});
    if (policy >= 0) {
      c.policy = policy == 0 ? "lru" : "s3fifo";
    }
    duration(n, p, "hit_latency", c.hitLatency, false);
  }

  void clientSection(const YAML::Node& n, ClientSpec& c) {
    const std::string p = "client";
    if (!isMap(n, p)) {
      return;
    }
    keys(n, p, {"timeout", "retries"});
    duration(n, p, "timeout", c.timeout, false);
    const YAML::Node r = n["retries"];
    const std::string q = p + ".retries";
    if (!isMap(r, q)) {
      return;
    }
    RetrySpec& s = c.retries;
    keys(r, q, {"max", "backoff", "budget", "on", "other_backend"});
    integer(r, q, "max", s.max, 0, 100);
    if (const YAML::Node b = r["backoff"]; isMap(b, q + ".backoff")) {
      const std::string bp = q + ".backoff";
      keys(b, bp, {"base", "multiplier", "max", "jitter"});
      duration(b, bp, "base", s.backoffBase, false);
      number(b, bp, "multiplier", s.backoffMultiplier, 1, 1000);
      duration(b, bp, "max", s.backoffMax, false);
      const int jitter = choice(b, bp, "jitter", {"none", "full", "equal"});
      if (jitter >= 0) {
        s.jitter = static_cast<breaker::Jitter>(jitter);
      }
      if (s.backoffMax < s.backoffBase) {
        fail(bp + ".max", "must be >= base (got " + formatDuration(s.backoffMax) + " < " +
                              formatDuration(s.backoffBase) + ")");
      }
    }
    if (const YAML::Node b = r["budget"]; b) {
      const std::string bp = q + ".budget";
      if (b.IsScalar() && (b.Scalar() == "off" || b.Scalar() == "none")) {
        s.budgetPercent.reset();
      } else if (isMap(b, bp)) {
        keys(b, bp, {"percent", "min_concurrency"});
        double percent = 20;
        number(b, bp, "percent", percent, 0, 1000);
        s.budgetPercent = percent;
        integer(b, bp, "min_concurrency", s.budgetMinConcurrency, 0, 1e9);
      }
    }
    if (const YAML::Node on = r["on"]; on) {
      if (!on.IsSequence()) {
        fail(q + ".on", "must be a list of: error, timeout, refused, unavailable, overload (got " +
                            shown(on) + ")");
      } else {
        s.onError = s.onTimeout = s.onRefused = s.onUnavailable = s.onOverload = false;
        for (std::size_t i = 0; i < on.size(); ++i) {
          const std::string v = on[i].IsScalar() ? on[i].Scalar() : std::string();
          if (v == "error") {
            s.onError = true;
          } else if (v == "timeout") {
            s.onTimeout = true;
          } else if (v == "refused") {
            s.onRefused = true;
          } else if (v == "unavailable") {
            s.onUnavailable = true;
          } else if (v == "overload") {
            s.onOverload = true;
          } else {
            fail(q + ".on[" + std::to_string(i) + "]",
                 "must be one of error, timeout, refused, unavailable, overload (got " +
                     shown(on[i]) + ")");
          }
        }
      }
    }
    boolean(r, q, "other_backend", s.otherBackend);
  }

  void backendsSection(const YAML::Node& n, std::vector<BackendSpec>& out) {
    if (!n) {
      fail("backends", "missing: the scenario needs at least one backend");
      return;
    }
    if (!n.IsSequence() || n.size() == 0) {
      fail("backends", "must be a non-empty list (got " + shown(n) + ")");
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string p = "backends[" + std::to_string(i) + "]";
      const YAML::Node b = n[i];
      if (!isMap(b, p)) {
        continue;
      }
      keys(b, p, {"id", "count", "weight", "servers", "queue", "service", "per_kib"});
      BackendSpec spec;
      string(b, p, "id", spec.id);
      if (spec.id.empty()) {
        fail(p + ".id", "missing or empty");
      }
      int count = 1;
      integer(b, p, "count", count, 1, 100000);
      integer(b, p, "weight", spec.weight, 1, 1e6);
      integer(b, p, "servers", spec.servers, 1, 1e6);
      integer(b, p, "queue", spec.queue, 0, 1e9);
      if (!b["service"]) {
        fail(p + ".service", "missing (a duration, or {dist, mean, ...})");
      }
      distribution(b["service"], p + ".service", spec.service, true);
      Duration perKib{0};
      if (duration(b, p, "per_kib", perKib, false)) {
        spec.nsPerByte = static_cast<double>(perKib.count()) / 1024.0;
      }
      if (out.size() + static_cast<std::size_t>(count) > 10'000) {
        fail(p + ".count", "at most 10000 backends in all (got " +
                               std::to_string(out.size() + static_cast<std::size_t>(count)) +
                               " so far)");
        return;
      }
      if (count == 1) {
        out.push_back(spec);
      } else {
        const std::string prefix = spec.id;
        for (int k = 1; k <= count; ++k) {
          spec.id = prefix + std::to_string(k);
          out.push_back(spec);
        }
      }
    }
  }

  void trafficSection(const YAML::Node& n, std::vector<SourceSpec>& out) {
    if (!n) {
      fail("traffic", "missing: the scenario needs at least one traffic source");
      return;
    }
    if (!n.IsSequence() || n.size() == 0) {
      fail("traffic", "must be a non-empty list (got " + shown(n) + ")");
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string p = "traffic[" + std::to_string(i) + "]";
      const YAML::Node t = n[i];
      if (!isMap(t, p)) {
        continue;
      }
      SourceSpec s;
      const int kind =
          choice(t, p, "kind", {"poisson", "onoff", "ramp", "diurnal", "replay", "closed"});
      if (!t["kind"]) {
        fail(p + ".kind", "missing (one of poisson, onoff, ramp, diurnal, replay, closed)");
        continue;
      }
      if (kind < 0) {
        continue;
      }
      s.kind = static_cast<SourceSpec::Kind>(kind);
      using K = SourceSpec::Kind;
      switch (s.kind) {
        case K::kPoisson:
          keys(t, p, {"kind", "start", "end", "rate", "size"});
          break;
        case K::kOnOff:
          keys(t, p, {"kind", "start", "end", "rate", "rate_off", "on", "off", "size"});
          break;
        case K::kRamp:
          keys(t, p, {"kind", "start", "end", "rate", "to", "size"});
          break;
        case K::kDiurnal:
          keys(t, p, {"kind", "start", "end", "rate", "amplitude", "period", "size"});
          break;
        case K::kReplay:
          keys(t, p, {"kind", "start", "end", "file"});
          break;
        case K::kClosed:
          keys(t, p, {"kind", "start", "end", "population", "think", "size"});
          break;
      }
      duration(t, p, "start", s.start, false);
      Duration end{0};
      if (duration(t, p, "end", end, true)) {
        s.end = end;
        if (end <= s.start) {
          fail(p + ".end", "must be after start (got " + formatDuration(end) +
                               " <= " + formatDuration(s.start) + ")");
        }
      }
      const bool needsRate = s.kind != K::kReplay && s.kind != K::kClosed;
      if (needsRate) {
        if (!t["rate"]) {
          fail(p + ".rate", "missing (requests per second)");
        }
        number(t, p, "rate", s.rate, s.kind == K::kRamp ? 0 : 1e-9, 1e9);
      }
      if (s.kind == K::kOnOff) {
        number(t, p, "rate_off", s.rateOff, 0, 1e9);
        if (!duration(t, p, "on", s.on, true) && !t["on"]) {
          fail(p + ".on", "missing (how long each burst lasts)");
        }
        if (!duration(t, p, "off", s.off, true) && !t["off"]) {
          fail(p + ".off", "missing (how long each pause lasts)");
        }
      }
      if (s.kind == K::kRamp) {
        if (!t["to"]) {
          fail(p + ".to", "missing (the rate at the end of the ramp)");
        }
        number(t, p, "to", s.rateTo, 0, 1e9);
        if (s.rate <= 0 && s.rateTo <= 0) {
          fail(p + ".rate", "rate and to cannot both be 0");
        }
      }
      if (s.kind == K::kDiurnal) {
        number(t, p, "amplitude", s.amplitude, 0, 1);
        if (!duration(t, p, "period", s.period, true) && !t["period"]) {
          fail(p + ".period", "missing (the length of one cycle, e.g. 60s)");
        }
      }
      if (s.kind == K::kReplay) {
        string(t, p, "file", s.file);
        if (s.file.empty()) {
          fail(p + ".file", "missing (a CSV file of time,key,size lines)");
        } else {
          std::filesystem::path path(s.file);
          if (path.is_relative()) {
            path = std::filesystem::path(baseDir_) / path;
          }
          s.file = path.string();
          std::ifstream in(s.file);
          if (!in) {
            fail(p + ".file", "cannot read '" + s.file + "'");
          }
        }
      }
      if (s.kind == K::kClosed) {
        if (!t["population"]) {
          fail(p + ".population", "missing (how many clients)");
        }
        integer(t, p, "population", s.population, 1, 1e6);
        s.think = Distribution::exponential(1e9);
        distribution(t["think"], p + ".think", s.think, true);
      }
      distribution(t["size"], p + ".size", s.size, false);
      out.push_back(s);
    }
  }

  void faultsSection(const YAML::Node& n, Scenario& s) {
    if (!n) {
      return;
    }
    if (!n.IsSequence()) {
      fail("faults", "must be a list (got " + shown(n) + ")");
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string p = "faults[" + std::to_string(i) + "]";
      const YAML::Node f = n[i];
      if (!isMap(f, p)) {
        continue;
      }
      FaultSpec spec;
      const int kind = choice(f, p, "kind", {"crash", "slow", "errors", "refuse", "flap"});
      if (!f["kind"]) {
        fail(p + ".kind", "missing (one of crash, slow, errors, refuse, flap)");
        continue;
      }
      if (kind < 0) {
        continue;
      }
      spec.kind = static_cast<FaultSpec::Kind>(kind);
      using K = FaultSpec::Kind;
      switch (spec.kind) {
        case K::kCrash:
          keys(f, p, {"kind", "backend", "at", "until"});
          break;
        case K::kSlow:
          keys(f, p, {"kind", "backend", "at", "until", "factor", "gray"});
          break;
        case K::kErrors:
          keys(f, p, {"kind", "backend", "at", "until", "rate", "status", "gray"});
          break;
        case K::kRefuse:
          keys(f, p, {"kind", "backend", "at", "until", "rate", "gray"});
          break;
        case K::kFlap:
          keys(f, p, {"kind", "backend", "at", "until", "up", "down"});
          break;
      }
      std::string backend;
      string(f, p, "backend", backend);
      const auto it = std::find_if(s.backends.begin(), s.backends.end(),
                                   [&](const BackendSpec& b) { return b.id == backend; });
      if (backend.empty()) {
        fail(p + ".backend", "missing (the id of a backend)");
      } else if (it == s.backends.end()) {
        std::vector<std::string> ids;
        for (const BackendSpec& b : s.backends) {
          ids.push_back(b.id);
        }
        fail(p + ".backend", "no backend '" + backend + "' (backends: " + sim::join(ids) + ")");
      } else {
        spec.backend = static_cast<std::size_t>(it - s.backends.begin());
      }
      if (!f["at"]) {
        fail(p + ".at", "missing (when the fault starts)");
      }
      duration(f, p, "at", spec.at, false);
      Duration until{0};
      if (duration(f, p, "until", until, true)) {
        spec.until = until;
        if (until <= spec.at) {
          fail(p + ".until", "must be after at (got " + formatDuration(until) +
                                 " <= " + formatDuration(spec.at) + ")");
        }
      }
      if (spec.kind == K::kSlow) {
        if (!f["factor"]) {
          fail(p + ".factor", "missing (how many times slower, e.g. 10)");
        }
        number(f, p, "factor", spec.factor, 1e-6, 1e9);
      }
      if (spec.kind == K::kErrors || spec.kind == K::kRefuse) {
        if (!f["rate"]) {
          fail(p + ".rate", "missing (a probability in [0, 1])");
        }
        number(f, p, "rate", spec.rate, 0, 1);
      }
      if (spec.kind == K::kErrors) {
        integer(f, p, "status", spec.status, 500, 599);
      }
      if (spec.kind == K::kFlap) {
        if (!duration(f, p, "up", spec.up, true) && !f["up"]) {
          fail(p + ".up", "missing (how long each healthy spell lasts)");
        }
        if (!duration(f, p, "down", spec.down, true) && !f["down"]) {
          fail(p + ".down", "missing (how long each outage lasts)");
        }
      }
      boolean(f, p, "gray", spec.gray);
      s.faults.push_back(spec);
    }
  }

  std::string baseDir_;
  std::optional<Error> error_;
};

}  // namespace

Status validate(const Scenario& s) {
  auto bad = [](std::string message) {
    return Error{ErrorCode::kInvalidArgument, std::move(message)};
  };
  if (s.duration.count() <= 0) {
    return bad("duration: must be > 0 (got " + formatDuration(s.duration) + ")");
  }
  if (s.warmup < Duration(0) || s.warmup >= s.duration) {
    return bad("warmup: must be in [0, duration) (got " + formatDuration(s.warmup) +
               " with duration " + formatDuration(s.duration) + ")");
  }
  if (s.backends.empty()) {
    return bad("backends: must be a non-empty list");
  }
  // Bounds on what a run allocates up front, so that a scenario file cannot exhaust memory
  // before the first event.
  constexpr std::size_t kMaxBackends = 10'000;
  constexpr std::int64_t kMaxServers = 10'000'000;
  constexpr std::int64_t kMaxBuckets = 100'000;
  constexpr std::int64_t kMaxTimelineCells = 50'000'000;
  if (s.backends.size() > kMaxBackends) {
    return bad("backends: at most " + std::to_string(kMaxBackends) + " backends (got " +
               std::to_string(s.backends.size()) + ")");
  }
  std::int64_t servers = 0;
  for (const BackendSpec& b : s.backends) {
    servers += b.servers;
  }
  if (servers > kMaxServers) {
    return bad("backends: at most " + std::to_string(kMaxServers) + " servers in all (got " +
               std::to_string(servers) + ")");
  }
  if (s.resolution.count() > 0) {
    const std::int64_t buckets =
        (s.duration.count() + s.resolution.count() - 1) / s.resolution.count();
    if (buckets > kMaxBuckets ||
        buckets * static_cast<std::int64_t>(s.backends.size()) > kMaxTimelineCells) {
      return bad("report.resolution: too fine for the duration (" + std::to_string(buckets) +
                 " buckets for " + std::to_string(s.backends.size()) + " backends; at most " +
                 std::to_string(kMaxBuckets) + " buckets and " + std::to_string(kMaxTimelineCells) +
                 " bucket x backend cells)");
    }
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < s.backends.size(); ++i) {
    const BackendSpec& b = s.backends[i];
    const std::string p = "backends[" + std::to_string(i) + "]";
    if (b.id.empty()) {
      return bad(p + ".id: missing or empty");
    }
    if (!ids.insert(b.id).second) {
      return bad(p + ".id: duplicate id '" + b.id + "'");
    }
    if (b.servers < 1) {
      return bad(p + ".servers: must be >= 1 (got " + std::to_string(b.servers) + ")");
    }
    if (b.weight < 1 || b.weight > balancer::kMaxWeight) {
      return bad(p + ".weight: must be in [1, 1000000] (got " + std::to_string(b.weight) + ")");
    }
    if (b.queue < 0) {
      return bad(p + ".queue: must be >= 0 (got " + std::to_string(b.queue) + ")");
    }
    if (!(b.service.mean > 0)) {
      return bad(p + ".service.mean: must be > 0");
    }
  }
  if (s.traffic.empty()) {
    return bad("traffic: must be a non-empty list");
  }
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    if (s.faults[i].backend >= s.backends.size()) {
      return bad("faults[" + std::to_string(i) + "].backend: no such backend");
    }
  }
  return {};
}

Result<Scenario> parseScenario(std::string_view yaml, std::string_view baseDir) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return Parser(std::string(baseDir)).parse(root);
  } catch (const YAML::Exception& e) {
    std::string message = "not valid YAML";
    if (!e.mark.is_null()) {
      message += " at line " + std::to_string(e.mark.line + 1) + ", column " +
                 std::to_string(e.mark.column + 1);
    }
    return Error{ErrorCode::kParse, message + ": " + e.msg};
  } catch (const std::exception& e) {
    return Error{ErrorCode::kParse, std::string("could not read the scenario: ") + e.what()};
  }
}

Result<Scenario> loadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorCode::kIo, path + ": cannot read the file"};
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  Result<Scenario> scenario = parseScenario(text.str(), dir.empty() ? "." : dir.string());
  if (!scenario) {
    return Error{scenario.error().code, path + ": " + scenario.error().message};
  }
  if (scenario.value().name.empty()) {
    scenario.value().name = std::filesystem::path(path).stem().string();
  }
  return scenario;
}

}  // namespace fairway::sim
