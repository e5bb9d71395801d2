// Scenario files: what they may say, and the errors that name the offending key.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <fairway/sim/scenario.hpp>

namespace fairway::sim {
namespace {

using namespace std::chrono_literals;

const char* const kMinimal = R"(
backends:
  - {id: a, service: 10ms}
traffic:
  - {kind: poisson, rate: 100}
)";

// The error message of parsing `yaml`, which must fail.
std::string errorOf(const std::string& yaml) {
  auto result = parseScenario(yaml);
  EXPECT_FALSE(result.ok()) << "parsed:\n" << yaml;
  return result.ok() ? std::string() : result.error().message;
}

TEST(Scenario, MinimalFileTakesDefaults) {
  auto result = parseScenario(kMinimal);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Scenario& s = result.value();
  EXPECT_EQ(s.duration, 60s);
  EXPECT_EQ(s.warmup, 0s);
  ASSERT_EQ(s.backends.size(), 1u);
  EXPECT_EQ(s.backends[0].service.kind, Distribution::Kind::kDeterministic);
  EXPECT_EQ(s.backends[0].service.mean, 10e6);
  EXPECT_EQ(s.balancer.algorithm, "round_robin");
  EXPECT_FALSE(s.healthCheck);
  EXPECT_FALSE(s.breaker);
}

TEST(Scenario, FullFileParses) {
  auto result = parseScenario(R"(
name: full
duration: 2m
warmup: 10s
seed: 0x2a
algorithms: [p2c, least_request]
balancer: {algorithm: p2c, slow_start: {window: 30s}, panic: {threshold: 0.5, mode: fail}}
health_check: {interval: 2s, timeout: 1s, rise: 3, fall: 2, fast_interval: 500ms, probe_latency: 2ms}
outlier: {consecutive_5xx: 3, max_ejection_percent: 50}
breaker:
  consecutive_failures: off
  failure_rate: {threshold: 50}
  window: {kind: time, duration: 10s, buckets: 10, minimum_calls: 5}
  backoff: {base: 1s, multiplier: 3, max: 1m, jitter: equal}
rate_limit: {algorithm: gcra, requests_per_second: 50, burst: 5, key: request_key}
cache: {max_size: 100, ttl: 30s, policy: s3fifo}
client:
  timeout: 800ms
  retries: {max: 2, budget: {percent: 10}, on: [timeout, refused], other_backend: false}
keys: {count: 5000, zipf: 0.9}
network: {rtt: 0.5ms}
backends:
  - {id: a, weight: 3, servers: 2, queue: 10, service: {dist: pareto, mean: 5ms, alpha: 2.2}}
  - {id: b, count: 3, service: {dist: lognormal, mean: 1s, sigma: 1.5}, per_kib: 1us}
traffic:
  - {kind: poisson, rate: 10, end: 1m}
  - {kind: onoff, rate: 100, on: 1s, off: 4s}
  - {kind: ramp, rate: 0, to: 500, start: 1m}
  - {kind: diurnal, rate: 100, amplitude: 0.5, period: 30s}
  - {kind: closed, population: 20, think: {dist: exponential, mean: 100ms}}
faults:
  - {backend: b2, kind: slow, factor: 4, at: 10s, until: 20s, gray: true}
  - {backend: a, kind: flap, at: 30s, up: 3s, down: 1s}
  - {backend: b1, kind: errors, rate: 0.25, status: 503, at: 0s}
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Scenario& s = result.value();
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.duration, 120s);
  EXPECT_EQ(s.algorithms, (std::vector<std::string>{"p2c", "least_request"}));
  EXPECT_EQ(s.balancer.panic.mode, balancer::PanicConfig::Mode::kFail);
  ASSERT_TRUE(s.healthCheck);
  EXPECT_EQ(s.healthCheck->rise, 3);
  EXPECT_EQ(s.probeLatency, 2ms);
  ASSERT_TRUE(s.breaker);
  EXPECT_FALSE(s.breaker->consecutiveFailures);
  EXPECT_EQ(s.breaker->backoff.jitter, breaker::Jitter::kEqual);
  ASSERT_TRUE(s.rateLimit);
  EXPECT_TRUE(s.rateLimit->perKey);
  ASSERT_TRUE(s.client.retries.budgetPercent);
  EXPECT_EQ(*s.client.retries.budgetPercent, 10);
  EXPECT_FALSE(s.client.retries.onError);
  EXPECT_TRUE(s.client.retries.onTimeout);
  EXPECT_FALSE(s.client.retries.otherBackend);
  ASSERT_EQ(s.backends.size(), 4u);
  EXPECT_EQ(s.backends[1].id, "b1");
  EXPECT_EQ(s.backends[3].id, "b3");
  EXPECT_NEAR(s.backends[1].nsPerByte, 1000.0 / 1024, 1e-12);
  EXPECT_EQ(s.backends[0].service.kind, Distribution::Kind::kPareto);
  EXPECT_EQ(s.rtt, 500us);
  ASSERT_EQ(s.traffic.size(), 5u);
  EXPECT_EQ(s.traffic[4].kind, SourceSpec::Kind::kClosed);
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].backend, 2u);
  EXPECT_TRUE(s.faults[0].gray);
  EXPECT_FALSE(s.faults[1].until);
}

TEST(Scenario, Durations) {
  EXPECT_EQ(parseDuration("250ms"), Duration(250ms));
  EXPECT_EQ(parseDuration("1.5s"), Duration(1500ms));
  EXPECT_EQ(parseDuration("2m"), Duration(120s));
  EXPECT_EQ(parseDuration("1h"), Duration(3600s));
  EXPECT_EQ(parseDuration("100us"), Duration(100us));
  EXPECT_EQ(parseDuration("7ns"), Duration(7ns));
  EXPECT_EQ(parseDuration("3"), Duration(3s));
  EXPECT_FALSE(parseDuration("fast"));
  EXPECT_FALSE(parseDuration("10 parsecs"));
  EXPECT_FALSE(parseDuration(""));
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(2s), "2s");
  EXPECT_EQ(formatDuration(0s), "0s");
}

// Each bad input names the key path and the rule.
TEST(Scenario, ErrorsNameTheKey) {
  EXPECT_EQ(errorOf(std::string(kMinimal) + "duraton: 10s\n"),
            "duraton: unknown key (known here: name, description, duration, warmup, seed, "
            "algorithms, balancer, health_check, outlier, breaker, rate_limit, cache, client, "
            "keys, network, report, backends, traffic, faults)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "duration: soon\n"),
            "duration: must be a duration such as 250ms, 1.5s or 2m (got 'soon')");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "warmup: 2m\n"),
            "warmup: must be in [0, duration) (got 2m with duration 1m)");
  EXPECT_EQ(errorOf("traffic: [{kind: poisson, rate: 1}]\n"),
            "backends: missing: the scenario needs at least one backend");
  EXPECT_EQ(errorOf("backends: [{id: a, service: {dist: exponential, mean: 0ms}}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends[0].service.mean: must be > 0 (got '0ms')");
  EXPECT_EQ(errorOf("backends: [{id: a, service: {dist: gamma, mean: 1ms}}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends[0].service.dist: must be one of deterministic, exponential, lognormal, "
            "pareto (got 'gamma')");
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms}, {id: a, service: 1ms}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends[1].id: duplicate id 'a'");
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms, servers: 0}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends[0].servers: must be in [1, 1e+06] (got '0')");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "faults: [{backend: z, kind: crash, at: 1s}]\n"),
            "faults[0].backend: no backend 'z' (backends: a)");
  EXPECT_EQ(
      errorOf(std::string(kMinimal) + "faults: [{backend: a, kind: crash, at: 5s, until: 1s}]\n"),
      "faults[0].until: must be after at (got 1s <= 5s)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "faults: [{backend: a, kind: slow, at: 5s}]\n"),
            "faults[0].factor: missing (how many times slower, e.g. 10)");
  EXPECT_EQ(
      errorOf(std::string(kMinimal) + "faults: [{backend: a, kind: crash, at: 5s, factor: 2}]\n"),
      "faults[0].factor: unknown key (known here: kind, backend, at, until)");
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms}]\ntraffic: [{kind: poisson}]\n"),
            "traffic[0].rate: missing (requests per second)");
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms}]\ntraffic: [{kind: burst, rate: 1}]\n"),
            "traffic[0].kind: must be one of poisson, onoff, ramp, diurnal, replay, closed (got "
            "'burst')");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "algorithms: [fastest]\n"),
            "algorithms[0]: unknown algorithm 'fastest' (known: round_robin, "
            "weighted_round_robin, least_connections, random, p2c, least_request, "
            "consistent_hash, peak_ewma)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "client: {retries: {max: 2, on: [error, panic]}}\n"),
            "client.retries.on[1]: must be one of error, timeout, refused, unavailable, overload "
            "(got 'panic')");
}

// What a run would allocate up front is bounded: a file cannot exhaust memory before it starts.
TEST(Scenario, SizesAreBounded) {
  EXPECT_EQ(errorOf(std::string(kMinimal) + "duration: 1h\nreport: {resolution: 1ms}\n"),
            "report.resolution: too fine for the duration (3600000 buckets for 1 backends; at "
            "most 100000 buckets and 50000000 bucket x backend cells)");
  EXPECT_EQ(errorOf("backends: [{id: a, count: 20, servers: 1000000, service: 1ms}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends: at most 10000000 servers in all (got 20000000)");
  EXPECT_EQ(errorOf("backends: [{id: a, count: 10001, service: 1ms}]\n"
                    "traffic: [{kind: poisson, rate: 1}]\n"),
            "backends[0].count: at most 10000 backends in all (got 10001 so far)");
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms}]\n"
                    "traffic: [{kind: closed, population: 2000000}]\n"),
            "traffic[0].population: must be in [1, 1e+06] (got '2000000')");
}

// The policy libraries' own validation, with their keys.
TEST(Scenario, PolicyErrorsComeFromTheLibraries) {
  EXPECT_EQ(errorOf(std::string(kMinimal) + "health_check: {rise: 0}\n"),
            "health_check.rise: must be >= 1 (got 0)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "outlier: {max_ejection_percent: 120}\n"),
            "outlier.max_ejection_percent: must be in [0, 100] (got 120)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "breaker: {backoff: {multiplier: 0.5}}\n"),
            "breaker.backoff.multiplier: must be >= 1 (got 0.5)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "rate_limit: {requests_per_second: 0}\n"),
            "rate_limit.requests_per_second: must be > 0 (got 0)");
}

TEST(Scenario, InvalidYamlGivesTheLine) {
  const std::string message = errorOf("backends:\n  - {id: a\ntraffic: [\n");
  EXPECT_EQ(message.rfind("not valid YAML at line ", 0), 0u) << message;
  EXPECT_EQ(errorOf("- just\n- a list\n"),
            "scenario: must be a map of keys (name, duration, backends, traffic, ...)");
  EXPECT_EQ(errorOf(""),
            "scenario: must be a map of keys (name, duration, backends, traffic, ...)");
}

TEST(Scenario, LoadScenarioNamesTheFile) {
  auto missing = loadScenario("/nonexistent/scenario.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_EQ(missing.error().message, "/nonexistent/scenario.yaml: cannot read the file");

  const auto dir = std::filesystem::temp_directory_path() / "fairway_sim_scenario_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "bad.yaml").string();
  std::ofstream(path) << kMinimal << "seed: -1\n";
  auto bad = loadScenario(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ": seed: must be an unsigned 64-bit integer (got '-1')");

  const auto good = (dir / "my-scenario.yaml").string();
  std::ofstream(good) << kMinimal;
  auto ok = loadScenario(good);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok.value().name, "my-scenario");  // defaults to the file's stem
  EXPECT_EQ(ok.value().baseDir, dir.string());
}

TEST(Scenario, ReplayFileMustExist) {
  EXPECT_EQ(errorOf("backends: [{id: a, service: 1ms}]\n"
                    "traffic: [{kind: replay, file: /nonexistent/log.csv}]\n"),
            "traffic[0].file: cannot read '/nonexistent/log.csv'");
}

// Every scenario shipped in sim/scenarios/ parses.
TEST(Scenario, ShippedScenariosParse) {
  const std::filesystem::path dir = FAIRWAY_SIM_SCENARIOS;
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    auto s = loadScenario(entry.path().string());
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    ++n;
  }
  EXPECT_GE(n, 8);
}

}  // namespace
}  // namespace fairway::sim
