// readConfig(): the configuration tree to a Config. Syntax and the proxy's own ranges are checked
// here; the policy libraries' settings (load_balancer, health_check, outlier, breaker, rate_limit,
// cache) are checked by each library's own validate(), so a file that passes here is one the
// engine can build.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <fairway/balancer/balancer.hpp>
#include <fairway/breaker/config.hpp>
#include <fairway/cache/config.hpp>
#include <fairway/cache/memory_store.hpp>
#include <fairway/health/config.hpp>
#include <fairway/proxy/config_loader.hpp>
#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/limiter.hpp>

#include "cache_service.hpp"
#include "config_section.hpp"
#include "config_tree.hpp"
#include "config_values.hpp"

namespace fairway::proxy {
namespace {

using config::got;
using config::join;
using config::kAnyDuration;
using config::kNoMax;
using config::kNonNegativeDuration;
using config::kPositiveDuration;
using config::Node;
using config::Problems;
using config::Section;

constexpr std::int64_t kIntMin = std::numeric_limits<int>::min();
constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kMaxWorkers = 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;

const std::vector<std::string> kInitialStates = {"up", "fully_up", "down", "fully_down"};
const std::vector<std::string> kPanicModes = {"balance_all", "fail"};
const std::vector<std::string> kWindowKinds = {"count", "time"};
const std::vector<std::string> kJitters = {"none", "full", "equal"};
const std::vector<std::string> kAccessFormats = {"combined", "json"};
// POCO's level names (Poco::Logger::parseLevel).
const std::vector<std::string> kLogLevels = {
    "none", "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"};
const std::vector<std::string> kClientTimeoutKeys = {"client_header", "client_body", "keep_alive",
                                                     "keep_alive_release", "client_send"};

// ---------------------------------------------------------------------------------------------
// Names, addresses, URLs

bool isDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// RFC 1123 host names (with '_', which container names use); an all-numeric name must be an IP.
bool isHostName(std::string_view name) {
  if (name.empty() || name.size() > 253 ||
      name.find_first_not_of("0123456789.") == std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        label.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            std::string_view::npos) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

bool isIPv4(std::string_view text) {
  // Dotted quads only: POCO (inet_aton) would also take "127.1".
  int parts = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t dot = std::min(text.find('.', start), text.size());
    const std::string_view part = text.substr(start, dot - start);
    if (!isDigits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    start = dot + 1;
  }
  return parts == 4;
}

bool isIPv6(std::string_view text) {
  Poco::Net::IPAddress address;
  return text.find(':') != std::string_view::npos &&
         Poco::Net::IPAddress::tryParse(std::string(text), address) &&
         address.family() == Poco::Net::IPAddress::IPv6;
}

// RFC 9110 §5.6.2 token: a header name.
bool isToken(std::string_view s) {
  return !s.empty() &&
         s.find_first_not_of(
             "!#$%&'*+-.^_`|~0123456789"
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
}

bool hasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// A listening or admin address: an IP literal (IPv6 with or without brackets), "*" for every
// IPv4 address, or a host name the engine resolves.
bool readAddress(Section& s, std::string_view key, std::string& out) {
  const Node* node = s.scalar(key);
  if (node == nullptr) {
    return false;
  }
  std::string value(config::trim(node->value));
  if (value == "*") {
    value = "0.0.0.0";
  }
  if (value.size() > 2 && value.front() == '[' && value.back() == ']') {
    value = value.substr(1, value.size() - 2);
  }
  if (!isIPv4(value) && !isIPv6(value) && !isHostName(value)) {
    s.problems().add(node->path, "must be an IP address or a host name " + got(node->value));
    return false;
  }
  out = value;
  return true;
}

struct BackendAddress {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 80;
  std::string id;  // "host:port", "[v6]:port"
};

// http://host[:port][/] and nothing else; the reason in `why` otherwise.
std::optional<BackendAddress> parseBackendUrl(std::string_view url, std::string& why) {
  url = config::trim(url);
  const std::string lowered = config::lower(url.substr(0, std::min<std::size_t>(url.size(), 8)));
  if (lowered.starts_with("https://")) {
    why = "https upstreams are not supported: use http://";
    return std::nullopt;
  }
  if (!lowered.starts_with("http://")) {
    why = url.find("://") != std::string_view::npos
              ? "must be an http:// URL"
              : "must be an http:// URL such as http://127.0.0.1:3001";
    return std::nullopt;
  }
  std::string_view rest = url.substr(7);
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find('@') != std::string_view::npos) {
    why = "must not contain user information";
    return std::nullopt;
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    why = "must not have a path, query or fragment: only http://host:port";
    return std::nullopt;
  }
  BackendAddress address;
  std::string_view portText;
  bool hasPort = false;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      why = "has an unclosed '[' in its IPv6 address";
      return std::nullopt;
    }
    address.host = std::string(rest.substr(1, close - 1));
    if (!isIPv6(address.host)) {
      why = "has an invalid IPv6 address";
      return std::nullopt;
    }
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "has unexpected text after the IPv6 address";
        return std::nullopt;
      }
      portText = after.substr(1);
      hasPort = true;
    }
  } else {
    const std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      why = "must write an IPv6 address in brackets, e.g. http://[::1]:8080";
      return std::nullopt;
    }
    address.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = rest.substr(colon + 1);
      hasPort = true;
    }
    if (address.host.empty()) {
      why = "has no host";
      return std::nullopt;
    }
    if (!isIPv4(address.host) && !isHostName(address.host)) {
      why = "has an invalid host name";
      return std::nullopt;
    }
  }
  if (hasPort) {
    const auto port = isDigits(portText) && portText.size() <= 5 ? config::parseInteger(portText)
                                                                 : std::optional<std::int64_t>{};
    if (!port || *port < 1 || *port > 65535) {
      why = "port must be in [1, 65535]";
      return std::nullopt;
    }
    address.port = static_cast<std::uint16_t>(*port);
  }
  const bool v6 = address.host.find(':') != std::string::npos;
  address.id = (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
  return address;
}

// ---------------------------------------------------------------------------------------------
// Sections checked by a policy library

// A library error "health_check.rise: must be >= 1 (got 0)" as key (without the library's own
// prefix) and message; a message that names no key has an empty key.
struct LibraryMessage {
  std::string key;
  std::string message;
};

LibraryMessage splitLibraryMessage(std::string_view text, std::string_view prefix) {
  const std::size_t colon = text.find(": ");
  if (colon != std::string_view::npos && colon > 0) {
    std::string_view key = text.substr(0, colon);
    if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.[]") ==
        std::string_view::npos) {
      if (key.starts_with(prefix)) {
        key.remove_prefix(prefix.size());
      }
      return {std::string(key), std::string(text.substr(colon + 2))};
    }
  }
  return {"", std::string(text)};
}

// "expected_statuses[0]" -> "expected_statuses": what Section skips.
std::string withoutIndexes(std::string_view key) {
  std::string out;
  bool inIndex = false;
  for (char c : key) {
    if (c == '[') {
      inIndex = true;
    } else if (c == ']') {
      inIndex = false;
    } else if (!inIndex) {
      out += c;
    }
  }
  return out;
}

template <typename T>
using ReadFn = std::function<void(Section&, T&)>;
// The library's verdict: its error message, or nullopt when valid.
template <typename T>
using CheckFn = std::function<std::optional<std::string>(const T&)>;

// Reads the section at `node` over `value` and checks the result with the library. The library
// reports only its first error, so the key it names is skipped (keeping `value`'s setting) and
// the section read again until it passes: every bad key gets a problem, in the library's words.
// On success `value` holds the result; on failure it is left as it was, so that what inherits
// from it does not repeat the problem.
template <typename T>
void readChecked(const Node* node, const std::string& path, std::string_view libraryPrefix,
                 T& value, Problems& problems, const ReadFn<T>& read, const CheckFn<T>& check) {
  std::set<std::string> skip;
  for (bool first = true;; first = false) {
    Problems repeated;  // syntax problems are reported in the first round only
    T attempt = value;
    Section section(node, path, first ? problems : repeated, &skip);
    read(section, attempt);
    section.finish();
    const std::optional<std::string> error = check(attempt);
    if (!error) {
      value = std::move(attempt);
      return;
    }
    LibraryMessage m = splitLibraryMessage(*error, libraryPrefix);
    if (skip.contains(withoutIndexes(m.key))) {
      return;  // reported already; what is left is a rule across keys, the other one given
    }
    const Node* at = node != nullptr && !m.key.empty() ? node->find(m.key) : nullptr;
    if (at != nullptr && at->isScalar() && m.message.find("(got") == std::string::npos &&
        m.message.find("'" + std::string(config::trim(at->value)) + "'") == std::string::npos) {
      m.message += " " + got(at->value);
    }
    problems.add(join(path, m.key), m.message);
    // A key not in this section (inherited, or a rule across keys) cannot be skipped.
    if (at == nullptr) {
      return;
    }
    skip.insert(withoutIndexes(m.key));
  }
}

bool isOff(std::string_view text) {
  const std::string word = config::lower(config::trim(text));
  return word == "off" || word == "false" || word == "no" || word == "none";
}

// An optional section (health_check, breaker): absent inherits `value`; a section turns it on
// over the inherited or default settings; `enabled: false`, or `false`/`off` in place of the
// section, turns it off.
template <typename T>
void readOptional(Section& parent, std::string_view key, std::string_view libraryPrefix,
                  std::optional<T>& value, const ReadFn<T>& read, const CheckFn<T>& check) {
  const Node* node = parent.get(key);
  if (node == nullptr) {
    return;
  }
  const std::string path = parent.keyPath(key);
  Problems& problems = parent.problems();
  if (node->isScalar() && !node->empty()) {
    const auto on = config::parseBool(node->value);
    if (!on && !isOff(node->value)) {
      problems.add(path,
                   "must be a section with keys, or false to turn it off " + got(node->value));
      return;
    }
    if (on.value_or(false)) {
      if (!value) {
        value = T{};
      }
    } else {
      value.reset();
    }
    return;
  }
  bool enabled = true;
  if (const Node* e = node->field("enabled"); e != nullptr) {
    const auto on = e->isScalar() ? config::parseBool(e->value) : std::nullopt;
    if (!on) {
      problems.add(e->path, "must be true or false " + got(e->isScalar() ? e->value : ""));
    }
    enabled = on.value_or(true);
  }
  // Read even when turned off, so that mistakes in it still show.
  T settings = value.value_or(T{});
  readChecked(node, path, libraryPrefix, settings, problems, read, check);
  if (enabled) {
    value = std::move(settings);
  } else {
    value.reset();
  }
}

// "200", "200-399", "2xx".
std::optional<health::StatusRange> parseStatusRange(std::string_view text) {
  text = config::trim(text);
  if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' &&
      config::lower(text.substr(1)) == "xx") {
    const int base = (text[0] - '0') * 100;
    return health::StatusRange{base, base + 99};
  }
  const std::size_t dash = text.find('-');
  const auto from = config::parseInteger(text.substr(0, dash));
  const auto to =
      dash == std::string_view::npos ? from : config::parseInteger(text.substr(dash + 1));
  if (!from || !to || *from < 0 || *to < 0 || *from > 999 || *to > 999) {
    return std::nullopt;
  }
  return health::StatusRange{static_cast<int>(*from), static_cast<int>(*to)};
}

void readHealthCheck(Section& s, health::HealthCheckConfig& h) {
  s.known("enabled");
  if (const Node* node = s.scalar("path")) {
    if (hasSpaceOrControl(config::trim(node->value))) {
      s.problems().add(node->path,
                       "must not contain spaces or control characters " + got(node->value));
    } else {
      h.probe.path = std::string(config::trim(node->value));
    }
  }
  if (auto items = s.list("expected_statuses")) {
    std::vector<health::StatusRange> ranges;
    bool ok = true;
    for (const Node& item : config::scalarItems(*items, s.problems())) {
      if (const auto range = parseStatusRange(item.value)) {
        ranges.push_back(*range);
      } else {
        s.problems().add(item.path, "must be a status (200), a range (200-399) or a class (2xx) " +
                                        got(item.value));
        ok = false;
      }
    }
    if (ok) {
      h.probe.expectedStatuses = std::move(ranges);
    }
  }
  s.duration("timeout", h.probe.timeout, kAnyDuration);
  s.integer("rise", h.rise, kIntMin, kIntMax);
  s.integer("fall", h.fall, kIntMin, kIntMax);
  s.duration("interval", h.interval, kAnyDuration);
  Duration d{};
  if (s.duration("fast_interval", d, kAnyDuration)) {
    h.fastInterval = d;
  }
  if (s.duration("down_interval", d, kAnyDuration)) {
    h.downInterval = d;
  }
  s.number("jitter_percent", h.jitterPercent);
  std::string state;
  if (s.choice("initial_state", state, kInitialStates)) {
    h.initialState = state == "up"         ? health::InitialState::kUp
                     : state == "fully_up" ? health::InitialState::kFullyUp
                     : state == "down"     ? health::InitialState::kDown
                                           : health::InitialState::kFullyDown;
  }
  s.seed("seed", h.seed);
}

std::optional<std::string> checkHealthCheck(const health::HealthCheckConfig& h) {
  const health::Status status = health::validate(h);
  return status.ok() ? std::nullopt : std::optional<std::string>(status.message());
}

void readOutlier(Section& s, health::OutlierConfig& o) {
  s.duration("interval", o.interval, kAnyDuration);
  s.duration("base_ejection_time", o.baseEjectionTime, kAnyDuration);
  s.duration("max_ejection_time", o.maxEjectionTime, kAnyDuration);
  s.number("max_ejection_percent", o.maxEjectionPercent);
  s.flag("always_eject_one_host", o.alwaysEjectOneHost);
  s.integer("consecutive_5xx", o.consecutive5xx, kIntMin, kIntMax);
  s.integer("consecutive_gateway_failure", o.consecutiveGatewayFailure, kIntMin, kIntMax);
  s.number("failure_percentage_threshold", o.failurePercentageThreshold);
  s.integer("failure_percentage_minimum_hosts", o.failurePercentageMinimumHosts, kIntMin, kIntMax);
  s.integer("failure_percentage_request_volume", o.failurePercentageRequestVolume, kIntMin,
            kIntMax);
}

std::optional<std::string> checkOutlier(const health::OutlierConfig& o) {
  const health::Status status = health::validate(o);
  return status.ok() ? std::nullopt : std::optional<std::string>(status.message());
}

// A breaker trip condition written as a section, or `off`/`false` (`true`: the defaults).
template <typename T>
void readTripCondition(Section& s, std::string_view key, std::optional<T>& value,
                       const std::function<void(Section&, T&)>& read) {
  const Node* node = s.get(key);
  if (node == nullptr) {
    return;
  }
  if (node->isScalar() && !node->empty()) {
    const auto on = config::parseBool(node->value);
    if (!on && !isOff(node->value)) {
      s.problems().add(node->path, "must be a section with keys, or off " + got(node->value));
    } else if (on.value_or(false)) {
      value = value.value_or(T{});
    } else {
      value.reset();
    }
    return;
  }
  T settings = value.value_or(T{});
  Section sub = s.section(key);
  read(sub, settings);
  sub.finish();
  value = settings;
}

void readBreaker(Section& s, breaker::Config& b) {
  s.known("enabled");
  if (const Node* node = s.scalar("consecutive_failures")) {
    if (isOff(node->value)) {
      b.consecutiveFailures.reset();
    } else if (const auto n = config::parseInteger(node->value)) {
      b.consecutiveFailures = *n;
    } else {
      s.problems().add(node->path, "must be a whole number, or off " + got(node->value));
    }
  }
  readTripCondition<breaker::FailureRateConfig>(
      s, "failure_rate", b.failureRate,
      [](Section& f, breaker::FailureRateConfig& c) { f.number("threshold", c.threshold); });
  readTripCondition<breaker::SlowCallConfig>(s, "slow_call", b.slowCall,
                                             [](Section& f, breaker::SlowCallConfig& c) {
                                               f.duration("duration", c.duration, kAnyDuration);
                                               f.number("threshold", c.threshold);
                                             });
  Section w = s.section("window");
  std::string kind;
  if (w.choice("kind", kind, kWindowKinds)) {
    b.window.kind =
        kind == "count" ? breaker::WindowConfig::Kind::kCount : breaker::WindowConfig::Kind::kTime;
  }
  w.integer("size", b.window.size);
  w.duration("duration", b.window.duration, kAnyDuration);
  w.integer("buckets", b.window.buckets);
  w.integer("minimum_calls", b.window.minimumCalls);
  w.finish();
  Section backoff = s.section("backoff");
  backoff.duration("base", b.backoff.base, kAnyDuration);
  backoff.number("multiplier", b.backoff.multiplier);
  backoff.duration("max", b.backoff.max, kAnyDuration);
  std::string jitter;
  if (backoff.choice("jitter", jitter, kJitters)) {
    b.backoff.jitter = jitter == "none"   ? breaker::Jitter::kNone
                       : jitter == "full" ? breaker::Jitter::kFull
                                          : breaker::Jitter::kEqual;
  }
  backoff.duration("reset_after", b.backoff.resetAfter, kAnyDuration);
  backoff.finish();
  Section halfOpen = s.section("half_open");
  halfOpen.integer("probes", b.halfOpen.probes);
  std::int64_t successes = 0;
  if (halfOpen.integer("successes_to_close", successes)) {
    b.halfOpen.successesToClose = successes;
  }
  halfOpen.finish();
  s.seed("seed", b.seed);
}

std::optional<std::string> checkBreaker(const breaker::Config& b) {
  const breaker::Status status = breaker::validate(b);
  return status.ok() ? std::nullopt : std::optional<std::string>(status.message());
}

void readBalancer(Section& s, UpstreamConfig& u) {
  balancer::Config& b = u.balancer;
  s.text("algorithm", b.algorithm);
  Section slow = s.section("slow_start");
  slow.duration("window", b.slowStart.window, kAnyDuration);
  slow.number("aggression", b.slowStart.aggression);
  slow.number("min_weight_percent", b.slowStart.minWeightPercent);
  slow.integer("steps", b.slowStart.steps, kIntMin, kIntMax);
  slow.finish();
  Section panic = s.section("panic");
  panic.number("threshold", b.panic.threshold);
  std::string mode;
  if (panic.choice("mode", mode, kPanicModes)) {
    b.panic.mode = mode == "fail" ? balancer::PanicConfig::Mode::kFail
                                  : balancer::PanicConfig::Mode::kBalanceAll;
  }
  panic.finish();
  Section hash = s.section("hash");
  hash.integer("points_per_endpoint", b.hash.pointsPerEndpoint, kIntMin, kIntMax);
  hash.number("balance_factor", b.hash.balanceFactor);
  hash.finish();
  Section ewma = s.section("ewma");
  ewma.duration("decay", b.ewma.decay, kAnyDuration);
  ewma.duration("penalty", b.ewma.penalty, kAnyDuration);
  ewma.finish();
  s.seed("seed", b.seed);
  if (const Node* node = s.scalar("hash_header")) {
    const std::string_view header = config::trim(node->value);
    if (!header.empty() && !isToken(header)) {
      s.problems().add(node->path, "must be a header name " + got(node->value));
    } else {
      u.hashHeader = std::string(header);
    }
  }
}

// balancer::make() with the upstream's backends as endpoints: the checks the engine meets.
std::optional<std::string> checkBalancer(const UpstreamConfig& u, bool withEndpoints) {
  balancer::Config b = u.balancer;
  b.endpoints.clear();
  if (withEndpoints) {
    for (const BackendConfig& backend : u.backends) {
      b.endpoints.push_back(
          {backend.id, backend.host + ":" + std::to_string(backend.port), backend.weight, true});
    }
  }
  auto made = balancer::make(b);
  if (made.ok()) {
    return std::nullopt;
  }
  std::string message = made.error().message;
  if (made.error().code == balancer::ErrorCode::kUnknownAlgorithm) {
    if (const auto suggestion = config::closest(b.algorithm, balancer::algorithmNames())) {
      message += "; did you mean `" + *suggestion + "`?";
    }
  }
  if (message.starts_with("endpoints[")) {
    message.replace(0, 9, "backends");  // the engine's endpoints are the file's backends
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// The proxy's own sections

void readRetry(Section& s, RetryConfig& r) {
  s.integer("attempts", r.attempts, 1, 10);
  if (auto items = s.list("on_statuses")) {
    std::vector<int> statuses;
    bool ok = true;
    for (const Node& item : config::scalarItems(*items, s.problems())) {
      const auto status = config::parseInteger(item.value);
      if (!status || *status < 400 || *status > 599) {
        s.problems().add(item.path, "must be an HTTP status in [400, 599] " + got(item.value));
        ok = false;
      } else {
        statuses.push_back(static_cast<int>(*status));
      }
    }
    if (ok) {
      r.onStatuses = std::move(statuses);
    }
  }
  s.number("budget_percent", r.budgetPercent, 0, 100);
  s.integer("min_retries_in_flight", r.minRetriesInFlight, 0, 1'000'000);
  Section backoff = s.section("backoff");
  const bool baseGiven = backoff.duration("base", r.backoffBase, kPositiveDuration);
  const bool maxGiven = backoff.duration("max", r.backoffMax, kPositiveDuration);
  backoff.finish();
  if ((baseGiven || maxGiven) && r.backoffMax < r.backoffBase) {
    s.problem("backoff.max", "must be >= retry.backoff.base (" + formatDuration(r.backoffBase) +
                                 ") (got " + formatDuration(r.backoffMax) + ")");
  }
  s.size("buffer_bytes", r.bufferBytes, 0, 1024 * kMiB);
}

void readUpstreamTimeouts(Section& t, UpstreamTimeouts& u) {
  t.duration("connect", u.connect, kPositiveDuration);
  t.duration("response", u.response, kPositiveDuration);
  t.duration("upstream_idle", u.idle, kPositiveDuration);
}

void readPool(Section& p, PoolConfig& pool) {
  p.integer("max_idle_per_endpoint", pool.maxIdlePerEndpoint, 0, 1'000'000);
  p.integer("max_requests_per_connection", pool.maxRequestsPerConnection, 0, kNoMax);
}

// The policy sections an upstream has, over `u` (the top-level defaults, or built-in ones for the
// top level itself). `backendsOk`: u.backends are valid, so the balancer is checked with them.
void readPolicies(Section& parent, UpstreamConfig& u, bool backendsOk, bool topLevel) {
  Problems& problems = parent.problems();
  readChecked<UpstreamConfig>(
      parent.get("load_balancer"), parent.keyPath("load_balancer"), "", u, problems, readBalancer,
      [backendsOk](const UpstreamConfig& v) { return checkBalancer(v, backendsOk); });
  readOptional<health::HealthCheckConfig>(parent, "health_check", "health_check.", u.healthCheck,
                                          readHealthCheck, checkHealthCheck);
  readChecked<health::OutlierConfig>(parent.get("outlier"), parent.keyPath("outlier"), "outlier.",
                                     u.outlier, problems, readOutlier, checkOutlier);
  readOptional<breaker::Config>(parent, "breaker", "", u.breaker, readBreaker, checkBreaker);
  Section retry = parent.section("retry");
  readRetry(retry, u.retry);
  retry.finish();
  if (!topLevel) {
    // The top level's `timeouts` also holds client timeouts: the caller reads it.
    Section timeouts = parent.section("timeouts");
    readUpstreamTimeouts(timeouts, u.timeouts);
    for (const std::string& key : kClientTimeoutKeys) {
      if (timeouts.get(key) != nullptr) {
        timeouts.problem(key, "client timeouts apply to every client: set timeouts." + key +
                                  " at the top level");
      }
    }
    timeouts.finish();
  }
  Section pool = parent.section("pool");
  readPool(pool, u.pool);
  pool.finish();
}

// backends: [{url, weight, id}] or just urls.
std::vector<BackendConfig> readBackends(const std::vector<Node>& items, const std::string& path,
                                        Problems& problems, bool& ok) {
  std::vector<BackendConfig> backends;
  const std::size_t before = problems.size();
  if (items.empty()) {
    problems.add(path, "at least one backend is required");
  }
  std::map<std::string, std::string> idOwner;  // id -> the item path that has it
  for (const Node& item : items) {
    BackendConfig backend;
    const Node* urlNode = nullptr;
    bool idGiven = false;
    if (item.isScalar()) {
      urlNode = &item;
    } else {
      Section s(&item, item.path, problems);
      urlNode = s.scalar("url");
      if (urlNode == nullptr && s.present() && item.field("url") == nullptr) {
        problems.add(s.keyPath("url"), "is required");
      }
      s.integer("weight", backend.weight, 1, balancer::kMaxWeight);
      if (const Node* idNode = s.scalar("id")) {
        const std::string_view id = config::trim(idNode->value);
        if (id.empty() || hasSpaceOrControl(id)) {
          problems.add(idNode->path,
                       "must be a non-empty name without spaces " + got(idNode->value));
        } else {
          backend.id = std::string(id);
          idGiven = true;
        }
      }
      s.finish();
    }
    if (urlNode != nullptr) {
      std::string why;
      if (const auto address = parseBackendUrl(urlNode->value, why)) {
        backend.url = std::string(config::trim(urlNode->value));
        backend.host = address->host;
        backend.port = address->port;
        if (!idGiven) {
          backend.id = address->id;
        }
      } else {
        problems.add(urlNode->path, why + " " + got(urlNode->value));
      }
    }
    if (!backend.id.empty()) {
      const std::string where = idGiven ? join(item.path, "id") : urlNode->path;
      if (auto [it, fresh] = idOwner.emplace(backend.id, item.path); !fresh) {
        problems.add(where, "duplicate backend id '" + backend.id + "' (also " + it->second + ")" +
                                (idGiven ? "" : "; give each an `id` if this is intended"));
      }
    }
    backends.push_back(std::move(backend));
  }
  ok = problems.size() == before;
  return backends;
}

bool validUpstreamName(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
             std::string_view::npos;
}

UpstreamConfig readUpstream(const Node& node, const UpstreamConfig& defaults, Problems& problems) {
  UpstreamConfig u = defaults;
  u.name = node.name;
  if (!validUpstreamName(node.name)) {
    problems.add(node.path, "upstream names use letters, digits, '_' and '-' (at most 64)");
  }
  Section s(&node, node.path, problems);
  bool backendsOk = false;
  if (auto items = s.list("backends")) {
    u.backends = readBackends(*items, s.keyPath("backends"), problems, backendsOk);
  } else if (s.present()) {
    s.problem("backends", "is required: an upstream needs at least one backend");
  }
  readPolicies(s, u, backendsOk, /*topLevel=*/false);
  s.finish();
  return u;
}

// routes[i].host: "" or "*" (any host; stored as ""), or a host name or IP, case-insensitive,
// a port ignored.
bool readRouteHost(Section& s, std::string& out) {
  const Node* node = s.scalar("host");
  if (node == nullptr) {
    return false;
  }
  std::string host = config::lower(config::trim(node->value));
  if (host.empty() || host == "*") {
    out.clear();
    return true;
  }
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    const std::string after = close == std::string::npos ? "" : host.substr(close + 1);
    if (close == std::string::npos || !isIPv6(host.substr(1, close - 1)) ||
        !(after.empty() || (after.front() == ':' && isDigits(after.substr(1))))) {
      s.problems().add(node->path, "must be a host name, an IP address or * " + got(node->value));
      return false;
    }
    out = host.substr(0, close + 1);
    return true;
  }
  if (const std::size_t colon = host.find(':'); colon != std::string::npos) {
    if (!isDigits(host.substr(colon + 1))) {
      s.problems().add(node->path, "must be a host name, an IP address or * " + got(node->value));
      return false;
    }
    host.resize(colon);
  }
  if (host.find('*') != std::string::npos) {
    s.problems().add(node->path, "only `*` on its own is a wildcard " + got(node->value));
    return false;
  }
  if (!isIPv4(host) && !isHostName(host)) {
    s.problems().add(node->path, "must be a host name, an IP address or * " + got(node->value));
    return false;
  }
  out = host;
  return true;
}

bool readRoutePath(Section& s, std::string& out) {
  const Node* node = s.scalar("path");
  if (node == nullptr) {
    return false;
  }
  const std::string_view path = config::trim(node->value);
  if (path.empty() || path.front() != '/' || hasSpaceOrControl(path) ||
      path.find_first_of("?#") != std::string_view::npos) {
    s.problems().add(
        node->path,
        "must be a path prefix starting with '/', without spaces, '?' or '#' " + got(node->value));
    return false;
  }
  out = std::string(path);
  return true;
}

std::string upstreamNames(const std::vector<UpstreamConfig>& upstreams) {
  std::string names;
  for (const UpstreamConfig& u : upstreams) {
    names += (names.empty() ? "" : ", ") + u.name;
  }
  return names;
}

std::vector<RouteConfig> readRoutes(const std::vector<Node>& items, const std::string& path,
                                    const std::vector<UpstreamConfig>& upstreams,
                                    Problems& problems) {
  std::vector<RouteConfig> routes;
  if (items.empty()) {
    problems.add(path,
                 "at least one route is required (leave `routes` out to send every request "
                 "to the `default` upstream)");
  }
  std::vector<std::string> names;
  for (const UpstreamConfig& u : upstreams) {
    names.push_back(u.name);
  }
  std::map<std::pair<std::string, std::string>, std::string> seen;  // (host, path) -> item path
  for (const Node& item : items) {
    Section s(&item, item.path, problems);
    RouteConfig route;
    const bool hostOk = readRouteHost(s, route.host) || item.field("host") == nullptr;
    const bool pathOk = readRoutePath(s, route.pathPrefix) || item.field("path") == nullptr;
    if (const Node* node = s.scalar("upstream")) {
      route.upstream = std::string(config::trim(node->value));
      if (std::find(names.begin(), names.end(), route.upstream) == names.end()) {
        std::string message = "no upstream named '" + route.upstream + "'";
        if (const auto suggestion = config::closest(route.upstream, names)) {
          message += "; did you mean `" + *suggestion + "`?";
        } else {
          message += names.empty() ? "" : " (upstreams: " + upstreamNames(upstreams) + ")";
        }
        problems.add(node->path, std::move(message));
      }
    } else if (s.present() && item.field("upstream") == nullptr) {
      s.problem("upstream", "is required: the upstream this route sends requests to");
    }
    s.finish();
    if (hostOk && pathOk) {
      const auto key = std::make_pair(route.host, route.pathPrefix);
      if (auto [it, fresh] = seen.emplace(key, item.path); !fresh) {
        problems.add(item.path, "duplicate route: same host '" +
                                    (route.host.empty() ? "*" : route.host) + "' and path '" +
                                    route.pathPrefix + "' as " + it->second);
      }
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

void readLimits(Section& s, LimitsConfig& l) {
  s.size("max_request_line", l.maxRequestLineBytes, 64, kMiB);
  s.size("max_header_bytes", l.maxHeaderBytes, 256, 16 * kMiB);
  s.integer("max_headers", l.maxHeaderCount, 1, 10'000);
  s.size("max_body_bytes", l.maxBodyBytes);
  s.integer("max_connections", l.maxConnections, 1, 10'000'000);
  s.integer("max_requests_per_connection", l.maxRequestsPerConnection, 0, kNoMax);
}

void readRateLimit(Section& s, RateLimitConfig& r) {
  if (!s.present()) {
    return;
  }
  r.enabled = true;
  s.flag("enabled", r.enabled);
  const bool rpsGiven = s.number("requests_per_second", r.requestsPerSecond);
  bool burstGiven = false;
  if (const Node* node = s.scalar("burst")) {
    const auto burst = config::parseNumber(node->value);
    if (!burst || !(std::fabs(*burst) < 9e18) || std::floor(*burst) != *burst) {
      s.problems().add(node->path, "must be a whole number " + got(node->value));
    } else {
      r.burst = *burst;
      burstGiven = true;
    }
  }
  if (const Node* node = s.scalar("key")) {
    const std::string key(config::trim(node->value));
    if (key == "client" || key == "route" ||
        (key.starts_with("header:") && isToken(std::string_view(key).substr(7)))) {
      r.key = key;
    } else {
      s.problems().add(node->path, "must be client, route or header:<name> " + got(node->value));
    }
  }
  s.flag("dry_run", r.dryRun);
  if (Section redis = s.section("redis"); redis.present()) {
    static const std::vector<std::string> kFailModes = {"open", "closed", "local"};
    static const std::vector<std::string> kModes = {"exact", "batched"};
    RedisRateLimitConfig rr;
    redis.text("host", rr.host);
    redis.integer("port", rr.port, 1, 65535);
    redis.choice("fail_mode", rr.failMode, kFailModes);
    redis.choice("mode", rr.mode, kModes);
    redis.integer("batch", rr.batch, 1, 1'000'000);
    redis.duration("connect_timeout", rr.connectTimeout, kPositiveDuration);
    redis.duration("command_timeout", rr.commandTimeout, kPositiveDuration);
    redis.integer("threads", rr.threads, 1, 64);
    redis.finish();
    r.redis = rr;
  }
  s.choice("algorithm", r.algorithm, ratelimit::algorithmNames());
  s.integer("trusted_hops", r.trustedHops, 0, 64);
  const bool maxKeysGiven = s.integer("max_keys", r.maxKeys, 1, kNoMax);
  if (s.get("requests_per_second") == nullptr) {
    s.problem("requests_per_second", "is required when rate_limit is given");
  }
  if (s.get("burst") == nullptr) {
    s.problem("burst", "is required when rate_limit is given");
  }
  // ratelimit::validate() on what was given, a valid stand-in for what was not (or was bad, and
  // is reported already); again without each value it refuses, to report the others too.
  bool rpsOk = rpsGiven;
  bool burstOk = burstGiven;
  bool maxKeysOk = maxKeysGiven;
  for (int round = 0; round < 4; ++round) {
    ratelimit::Config limiter;
    limiter.algorithm = r.algorithm;
    limiter.rate.requestsPerSecond = rpsOk ? r.requestsPerSecond : 1;
    limiter.rate.burst = burstOk ? static_cast<std::int64_t>(r.burst) : 1;
    limiter.maxKeys = maxKeysOk ? r.maxKeys : limiter.maxKeys;
    const ratelimit::Status status = ratelimit::validate(limiter);
    if (status.ok()) {
      break;
    }
    const LibraryMessage m = splitLibraryMessage(status.message(), "rate_limit.");
    bool* given = m.key == "requests_per_second" ? &rpsOk
                  : m.key == "burst"             ? &burstOk
                  : m.key == "max_keys"          ? &maxKeysOk
                                                 : nullptr;
    s.problem(m.key, m.message);
    if (given == nullptr || !*given) {
      break;  // nothing left to leave out
    }
    *given = false;
  }
}

void readCacheFields(Section& s, CacheConfig& c) {
  s.known("enabled");
  s.integer("max_size", c.maxEntries, 0, kNoMax);
  Duration ttl{};
  if (s.duration("ttl", ttl, kNonNegativeDuration)) {
    c.ttl = ttl;
  }
  s.flag("ttl_override", c.ttlOverride);
  s.size("max_body_bytes", c.maxBodyBytes, 0, static_cast<std::uint64_t>(kNoMax));
  s.size("max_bytes", c.maxBytes, 0, static_cast<std::uint64_t>(kNoMax));
  s.choice("policy", c.policy, cache::policyNames());
  s.duration("coalesce_timeout", c.coalesceTimeout, kNonNegativeDuration);
  s.duration("stale_if_error", c.staleIfError, kNonNegativeDuration);
  if (const Node* node = s.scalar("tag_header")) {
    const std::string name(config::trim(node->value));
    if (name.empty() || isToken(name)) {
      c.tagHeader = name;
    } else {
      s.problems().add(node->path, "must be a header field name " + got(node->value));
    }
  }
  s.flag("store_set_cookie", c.storeSetCookie);
  s.integer("threads", c.threads, 1, 64);
  if (Section redis = s.section("redis"); redis.present()) {
    RedisCacheConfig rc;
    redis.text("host", rc.host);
    redis.integer("port", rc.port, 1, 65535);
    redis.duration("connect_timeout", rc.connectTimeout, kPositiveDuration);
    redis.duration("command_timeout", rc.commandTimeout, kPositiveDuration);
    redis.duration("retry_interval", rc.retryInterval, kNonNegativeDuration);
    if (const Node* node = redis.scalar("key_prefix")) {
      if (node->value.empty()) {
        redis.problems().add(node->path, "must not be empty");
      } else {
        rc.keyPrefix = node->value;
      }
    }
    redis.integer("connections", rc.connections, 1, 256);
    redis.duration("max_ttl", rc.maxTtl, kPositiveDuration);
    redis.duration("revalidation_grace", rc.revalidationGrace, kNonNegativeDuration);
    redis.finish();
    c.redis = rc;
  }
}

// cache::validate() on the settings the proxy passes on; the library calls max_body_bytes
// max_object_size.
std::optional<std::string> checkCache(const CacheConfig& c) {
  const cache::Status status = cache::validate(libraryCacheConfig(c, 0));
  if (status.ok()) {
    return std::nullopt;
  }
  std::string message = status.message();
  for (std::size_t at = message.find("max_object_size"); at != std::string::npos;
       at = message.find("max_object_size", at)) {
    message.replace(at, 15, "max_body_bytes");
  }
  return message;
}

void readAdmin(Section& s, AdminConfig& a) {
  s.flag("enabled", a.enabled);
  readAddress(s, "address", a.address);
  s.integer("port", a.port, 0, 65535);
}

void readLog(Section& s, LogConfig& l) {
  s.text("access", l.accessLog);
  s.choice("access_format", l.accessFormat, kAccessFormats);
  s.text("error", l.errorLog);
  s.choice("level", l.level, kLogLevels);
}

bool isWildcard(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address == "0:0:0:0:0:0:0:0";
}

void checkListeners(const Config& cfg, const std::string& listenersPath, bool fromList,
                    Problems& problems) {
  const auto where = [&](std::size_t i) {
    return fromList ? listenersPath + "[" + std::to_string(i) + "]" : std::string("server.port");
  };
  for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
    const ListenerConfig& l = cfg.listeners[i];
    for (std::size_t j = 0; j < i && l.port != 0; ++j) {
      if (cfg.listeners[j].port == l.port && cfg.listeners[j].address == l.address) {
        problems.add(where(i), "duplicate listener " + l.address + ":" + std::to_string(l.port) +
                                   " (also " + where(j) + ")");
      }
    }
    const AdminConfig& admin = cfg.admin;
    if (admin.enabled && admin.port != 0 && admin.port == l.port &&
        (admin.address == l.address || isWildcard(admin.address) || isWildcard(l.address))) {
      problems.add("admin.port", "port " + std::to_string(admin.port) + " is also " + where(i) +
                                     "'s; the admin listener needs a port of its own");
    }
  }
}

Config readRoot(const Node& root, Problems& problems) {
  Config cfg;
  Section top(&root, "", problems);

  // server: the original design's single listener, workers, and the upstream response timeout.
  ListenerConfig serverListener;
  std::optional<Duration> serverTimeout;
  bool serverListenerGiven = false;
  {
    Section s = top.section("server");
    serverListenerGiven = s.get("address") != nullptr || s.get("port") != nullptr;
    readAddress(s, "address", serverListener.address);
    s.integer("port", serverListener.port, 0, 65535);
    if (const Node* node = s.scalar("workers");
        node != nullptr && config::trim(node->value) == "auto") {
      cfg.workers = 0;
    } else {
      s.integer("workers", cfg.workers, 0, kMaxWorkers);
    }
    Duration timeout{};
    if (s.duration("timeout", timeout, kPositiveDuration)) {
      serverTimeout = timeout;
    }
    s.finish();
  }
  const bool listenersGiven = root.field("listeners") != nullptr;
  if (auto items = top.list("listeners")) {
    if (serverListenerGiven) {
      problems.add("listeners",
                   "given together with server.address/server.port: use one or the "
                   "other");
    }
    if (items->empty()) {
      problems.add("listeners", "at least one listener is required");
    }
    cfg.listeners.clear();
    for (const Node& item : *items) {
      Section l(&item, item.path, problems);
      ListenerConfig listener;
      readAddress(l, "address", listener.address);
      l.integer("port", listener.port, 0, 65535);
      l.finish();
      cfg.listeners.push_back(listener);
    }
  } else {
    cfg.listeners = {serverListener};
  }

  {
    Section limits = top.section("limits");
    readLimits(limits, cfg.limits);
    limits.finish();
  }

  // Every upstream starts from these: built-in defaults, then the top-level sections.
  UpstreamConfig defaults;
  defaults.outlier.alwaysEjectOneHost = true;
  if (serverTimeout) {
    defaults.timeouts.response = *serverTimeout;
  }
  {
    Section timeouts = top.section("timeouts");
    timeouts.duration("client_header", cfg.clientTimeouts.header, kPositiveDuration);
    timeouts.duration("client_body", cfg.clientTimeouts.body, kPositiveDuration);
    timeouts.duration("keep_alive", cfg.clientTimeouts.keepAlive, kPositiveDuration);
    timeouts.duration("keep_alive_release", cfg.clientTimeouts.keepAliveRelease,
                      kNonNegativeDuration);
    timeouts.duration("client_send", cfg.clientTimeouts.send, kPositiveDuration);
    readUpstreamTimeouts(timeouts, defaults.timeouts);
    timeouts.finish();
  }
  readPolicies(top, defaults, /*backendsOk=*/false, /*topLevel=*/true);

  // The original design's `backends`: the upstream "default", with the top-level policies.
  if (auto items = top.list("backends")) {
    UpstreamConfig u = defaults;
    u.name = "default";
    bool backendsOk = false;
    u.backends = readBackends(*items, "backends", problems, backendsOk);
    if (backendsOk) {
      // The top-level load_balancer was checked without endpoints; check it with them.
      if (const auto error = checkBalancer(u, true)) {
        const LibraryMessage m = splitLibraryMessage(*error, "");
        problems.add(join("load_balancer", m.key), m.message);
      }
    }
    cfg.upstreams.push_back(std::move(u));
  }
  if (const Node* node = top.get("upstreams")) {
    if (!node->isMap()) {
      if (!node->empty()) {
        problems.add(node->path,
                     "must be a section of named upstreams, e.g. upstreams: {api: "
                     "{backends: [...]}}");
      }
    } else {
      for (const Node& child : node->children) {
        if (child.name == "default" && root.field("backends") != nullptr) {
          problems.add(child.path, "the top-level `backends` already form the upstream `default`");
          continue;
        }
        cfg.upstreams.push_back(readUpstream(child, defaults, problems));
      }
    }
  }
  if (cfg.upstreams.empty() && root.field("backends") == nullptr) {
    problems.add("backends",
                 "no backends: give `backends` (one upstream) or `upstreams` (named "
                 "groups)");
  }

  if (auto items = top.list("routes")) {
    cfg.routes = readRoutes(*items, "routes", cfg.upstreams, problems);
  } else if (!cfg.upstreams.empty()) {
    const auto named = std::find_if(cfg.upstreams.begin(), cfg.upstreams.end(),
                                    [](const UpstreamConfig& u) { return u.name == "default"; });
    if (named != cfg.upstreams.end() || cfg.upstreams.size() == 1) {
      const std::string& target =
          named != cfg.upstreams.end() ? named->name : cfg.upstreams[0].name;
      cfg.routes.push_back(RouteConfig{"", "/", target});
    } else {
      problems.add("routes",
                   "is required when there are several upstreams and none is named "
                   "`default` (upstreams: " +
                       upstreamNames(cfg.upstreams) + ")");
    }
  }

  {
    Section rateLimit = top.section("rate_limit");
    readRateLimit(rateLimit, cfg.rateLimit);
    rateLimit.finish();
  }
  if (const Node* node = top.get("cache")) {
    CacheConfig c;
    c.enabled = true;
    if (const Node* e = node->field("enabled"); e != nullptr) {
      const auto on = e->isScalar() ? config::parseBool(e->value) : std::nullopt;
      if (!on) {
        problems.add(e->path, "must be true or false " + got(e->isScalar() ? e->value : ""));
      }
      c.enabled = on.value_or(true);
    }
    readChecked<CacheConfig>(node, "cache", "cache.", c, problems, readCacheFields, checkCache);
    cfg.cache = c;
  }
  {
    Section admin = top.section("admin");
    readAdmin(admin, cfg.admin);
    admin.finish();
  }
  {
    Section log = top.section("log");
    readLog(log, cfg.log);
    log.finish();
  }
  // `x-...` keys are the file's own (a place for YAML anchors, as in Compose files).
  for (const Node& child : root.children) {
    if (child.name.starts_with("x-")) {
      top.known(child.name);
    }
  }
  top.finish();
  checkListeners(cfg, "listeners", listenersGiven, problems);
  return cfg;
}

}  // namespace

LoadResult readConfig(const Poco::Util::AbstractConfiguration& conf) {
  Problems problems;
  Config cfg;
  try {
    std::vector<ConfigProblem> treeProblems;
    const Node root = config::buildTree(conf, treeProblems);
    for (ConfigProblem& p : treeProblems) {
      problems.add(std::move(p));
    }
    if (root.empty()) {
      if (problems.empty()) {
        problems.add("", std::string(config::kEmptyMessage));
      }
    } else {
      cfg = readRoot(root, problems);
    }
  } catch (const Poco::Exception& e) {
    problems.add("", "cannot read the configuration: " + e.displayText());
  } catch (const std::exception& e) {
    problems.add("", std::string("cannot read the configuration: ") + e.what());
  }
  LoadResult result;
  result.problems = problems.take();
  if (result.problems.empty()) {
    result.config = std::move(cfg);
  }
  return result;
}

}  // namespace fairway::proxy
