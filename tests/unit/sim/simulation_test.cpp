// The engine end to end: determinism, each traffic, backend and fault model, and each policy the
// simulator drives (health checks, outlier detection, breakers, retries and their budget, rate
// limits, the cache).

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/sim/report.hpp>

#include "test_util.hpp"

namespace fairway::sim {
namespace {

using namespace testing;

Scenario parse(const std::string& yaml) {
  auto s = parseScenario(yaml);
  if (!s) {
    throw std::runtime_error(s.error().message);
  }
  return std::move(s).value();
}

// A busy scenario with every moving part: faults of each kind, health checks, outlier detection,
// breakers with jitter, retries with a budget, timeouts, a rate limit.
const char* const kEverything = R"(
duration: 20s
warmup: 2s
seed: 99
backends:
  - {id: b, count: 5, servers: 4, queue: 50, service: {dist: lognormal, mean: 8ms, sigma: 1}}
traffic:
  - {kind: poisson, rate: 1500}
  - {kind: onoff, rate: 800, on: 1s, off: 2s, start: 5s}
health_check: {interval: 500ms, timeout: 100ms, rise: 2, fall: 2, jitter_percent: 10}
outlier: {consecutive_5xx: 5, max_ejection_percent: 40, base_ejection_time: 2s}
breaker:
  consecutive_failures: 5
  backoff: {base: 500ms, multiplier: 2, max: 8s, jitter: full}
rate_limit: {requests_per_second: 2000, burst: 100}
client:
  timeout: 300ms
  retries: {max: 2, budget: {percent: 20, min_concurrency: 5}}
faults:
  - {backend: b1, kind: crash, at: 4s, until: 8s}
  - {backend: b2, kind: slow, factor: 20, at: 6s, until: 12s, gray: true}
  - {backend: b3, kind: errors, rate: 0.5, at: 9s, until: 14s}
  - {backend: b4, kind: refuse, rate: 0.3, at: 3s, until: 6s}
  - {backend: b5, kind: flap, at: 12s, until: 18s, up: 1s, down: 500ms}
)";

TEST(Simulation, SameSeedSameResultsBitForBit) {
  const Scenario s = parse(kEverything);
  for (const char* algorithm : {"round_robin", "p2c", "least_connections", "peak_ewma"}) {
    const Results a = run(s, algorithm, 5);
    const Results b = run(s, algorithm, 5);
    EXPECT_EQ(toJson(s, {a}), toJson(s, {b})) << algorithm;
    EXPECT_GT(a.eventsProcessed, 0u);
  }
}

TEST(Simulation, OtherSeedOtherResults) {
  const Scenario s = parse(kEverything);
  EXPECT_NE(toJson(s, {run(s, "p2c", 5)}), toJson(s, {run(s, "p2c", 6)}));
}

// Arrivals do not depend on the algorithm (each source has its own generator), so algorithms
// are compared on the same requests.
TEST(Simulation, ArrivalsAreTheSameForEveryAlgorithm) {
  const Scenario s = parse(kEverything);
  const Results a = run(s, "round_robin", 5);
  const Results b = run(s, "least_connections", 5);
  EXPECT_EQ(a.requests, b.requests);
}

TEST(Simulation, UnknownAlgorithmIsAnError) {
  const Scenario s = parse(kEverything);
  auto r = simulate(s, {.algorithm = "fastest", .seed = {}, .progress = {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fastest"), std::string::npos) << r.error().message;
}

TEST(Simulation, InvalidPolicyBuiltInCodeIsAnError) {
  Scenario s = parse(kEverything);
  s.breaker->backoff.multiplier = 0.5;
  auto r = simulate(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "breaker.backoff.multiplier: must be >= 1 (got 0.5)");
}

TEST(Simulation, ProgressReachesOne) {
  const Scenario s = queueScenario(2, 1, 1ms, 1000, 300s, 0s);
  std::vector<double> seen;
  auto r = simulate(
      s, {.algorithm = "p2c", .seed = 1, .progress = [&](double d) { seen.push_back(d); }});
  ASSERT_TRUE(r.ok());
  ASSERT_GE(seen.size(), 2u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 1.0);
}

// ---- Traffic models ----

TEST(Traffic, PoissonRate) {
  const Results r = run(queueScenario(4, 8, 1ms, 2000, 100s, 0s));
  EXPECT_NEAR(static_cast<double>(r.requests), 200000, 3 * std::sqrt(200000.0));
  EXPECT_NEAR(r.throughput, 2000, 15);
}

// On/off: 3000/s for 1s then 500/s for 3s, i.e. 1125/s on average.
TEST(Traffic, OnOffBursts) {
  Scenario s = queueScenario(4, 64, 1ms, 1, 100s, 0s);
  s.traffic[0].kind = SourceSpec::Kind::kOnOff;
  s.traffic[0].rate = 3000;
  s.traffic[0].rateOff = 500;
  s.traffic[0].on = 1s;
  s.traffic[0].off = 3s;
  s.resolution = 1s;
  const Results r = run(s);
  EXPECT_NEAR(static_cast<double>(r.requests), 112500, 1500);
  // The first second of each 4s cycle carries 3000 requests.
  const auto& t = r.timeline;
  ASSERT_GT(t.successes.size(), 8u);
  const auto perSecond = static_cast<std::size_t>(std::lround(1 / t.bucketSeconds));
  double on = 0;
  double off = 0;
  for (std::size_t i = 0; i < t.successes.size(); ++i) {
    const bool inOn = (i / perSecond) % 4 == 0;
    (inOn ? on : off) += t.successes[i];
  }
  EXPECT_NEAR(on / 25, 3000, 100);  // 25 on-seconds
  EXPECT_NEAR(off / 75, 500, 30);   // 75 off-seconds
}

// A ramp from 0 to 2000/s over 100s: 100,000 requests, ten times more in the last tenth than in
// the first half's first tenth.
TEST(Traffic, RampIsLinear) {
  Scenario s = queueScenario(4, 64, 1ms, 1, 100s, 0s);
  s.traffic[0].kind = SourceSpec::Kind::kRamp;
  s.traffic[0].rate = 0;
  s.traffic[0].rateTo = 2000;
  const Results r = run(s);
  EXPECT_NEAR(static_cast<double>(r.requests), 100000, 1500);
}

// Over whole periods a diurnal curve averages its base rate; at the crest it is (1 + a) x.
TEST(Traffic, DiurnalAveragesItsRate) {
  Scenario s = queueScenario(4, 64, 1ms, 1, 100s, 0s);
  s.traffic[0].kind = SourceSpec::Kind::kDiurnal;
  s.traffic[0].rate = 1000;
  s.traffic[0].amplitude = 0.8;
  s.traffic[0].period = 20s;
  const Results r = run(s);
  EXPECT_NEAR(static_cast<double>(r.requests), 100000, 1500);
}

// Closed loop: N clients each thinking Z between requests that take R: throughput N / (Z + R).
TEST(Traffic, ClosedLoopFollowsLittlesLaw) {
  Scenario s = queueScenario(2, 100, 10ms, 1, 100s, 10s);
  s.traffic[0].kind = SourceSpec::Kind::kClosed;
  s.traffic[0].population = 50;
  s.traffic[0].think = Distribution::exponential(90e6);
  const Results r = run(s);
  EXPECT_NEAR(r.throughput, 50 / 0.100, 10);
  EXPECT_NEAR(r.success.mean, 10, 0.3);
}

// Replay: every line becomes one request at its time; consistent hashing sends a key to one
// backend every time.
TEST(Traffic, ReplayFollowsTheLog) {
  const auto dir = std::filesystem::temp_directory_path() / "fairway_sim_replay_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "log.csv";
  {
    std::ofstream out(path);
    out << "time,key,size\n";
    for (int i = 0; i < 1000; ++i) {
      out << (i * 0.01) << "," << (i % 2 == 0 ? "alice" : "bob") << "," << 100 + i << "\n";
    }
  }
  Scenario s = parse(
      "backends: [{id: b, count: 4, servers: 4, service: 1ms}]\n"
      "traffic: [{kind: replay, file: " +
      path.string() + "}]\nduration: 20s\n");
  const Results r = run(s, "consistent_hash");
  EXPECT_EQ(r.requests, 1000u);
  EXPECT_EQ(r.successes, 1000u);
  int used = 0;
  for (const BackendResult& b : r.backends) {
    used += b.attempts > 0 ? 1 : 0;
    if (b.attempts > 0) {
      EXPECT_EQ(b.attempts, 500u);
    }
  }
  EXPECT_LE(used, 2);

  std::ofstream(path, std::ios::app) << "oops,carol,1\n";
  auto bad = simulate(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path.string() +
                                     ":1002: time must be seconds since the source's start, >= 0 "
                                     "(got 'oops,carol,1')");

  // A last line without a newline still counts; a line too long to be a log line is an error.
  std::ofstream(path) << "0.5,dave,10\n1.0,erin,20";
  EXPECT_EQ(run(s).requests, 2u);
  std::ofstream(path) << "0.5,dave,10\n" << std::string(10000, 'x') << "\n";
  bad = simulate(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path.string() + ":2: line longer than 4095 bytes");
}

// ---- Backends ----

TEST(Backend, ServiceTimeAndSizeCost) {
  Scenario s = queueScenario(1, 16, 2ms, 1000, 50s, 0s);
  s.backends[0].nsPerByte = 1000;  // 1 µs per byte
  s.traffic[0].size = Distribution::deterministic(500);
  const Results r = run(s);
  EXPECT_NEAR(r.backends[0].meanServiceMs, 2.5, 0.05);
  EXPECT_NEAR(r.backends[0].utilization, 1000 * 0.0025 / 16, 0.005);
}

// A full queue turns requests away at once with a 503.
TEST(Backend, FullQueueOverloads) {
  Scenario s = queueScenario(1, 1, 10ms, 200, 20s, 0s);  // twice its capacity
  s.backends[0].queue = 5;
  const Results r = run(s);
  EXPECT_GT(r.backends[0].overloaded, r.requests / 3);
  EXPECT_EQ(r.failures, r.backends[0].overloaded);
  EXPECT_NEAR(r.goodput, 100, 5);
}

// ---- Faults ----

const char* const kFiveBackends = R"(
duration: 30s
seed: 4
backends:
  - {id: b, count: 5, servers: 4, queue: 100, service: {dist: exponential, mean: 5ms}}
traffic:
  - {kind: poisson, rate: 1000}
)";

TEST(Faults, CrashResetsAndRefuses) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "faults: [{backend: b2, kind: crash, at: 10s, until: 20s}]\n");
  const Results r = run(s);
  const BackendResult& b2 = r.backends[1];
  EXPECT_GT(b2.refused, 1500u);  // about 200/s for 10s, nothing takes it out of rotation
  EXPECT_GT(b2.resets, 0u);      // what it held when it died
  EXPECT_EQ(r.failures, b2.refused + b2.resets);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_FALSE(r.faults[0].detectedAfter);  // no health checks, no breaker: never detected
}

// Active health checks take a crashed backend out within fall probes and bring it back within
// rise probes after it recovers.
TEST(Faults, HealthChecksDetectACrash) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "health_check: {interval: 1s, timeout: 200ms, rise: 2, fall: 3}\n"
                     "faults: [{backend: b2, kind: crash, at: 10s, until: 20s}]\n");
  const Results r = run(s);
  ASSERT_EQ(r.faults.size(), 1u);
  ASSERT_TRUE(r.faults[0].detectedAfter);
  EXPECT_GT(*r.faults[0].detectedAfter, 2.0);  // three failed probes, 1s apart
  EXPECT_LE(*r.faults[0].detectedAfter, 3.0);
  ASSERT_TRUE(r.faults[0].recoveredAfter);
  EXPECT_GT(*r.faults[0].recoveredAfter, 1.0);  // two passing probes
  EXPECT_LE(*r.faults[0].recoveredAfter, 2.0);
  EXPECT_NEAR(r.backends[1].unavailableSeconds, 10, 1.5);
}

// A slow-down multiplies service times while it lasts; probes see it unless it is gray.
TEST(Faults, SlowAndGray) {
  const std::string health = "health_check: {interval: 500ms, timeout: 100ms, rise: 1, fall: 2}\n";
  Scenario visible = parse(std::string(kFiveBackends) + health +
                           "faults: [{backend: b3, kind: slow, factor: 200, at: 10s}]\n");
  Results r = run(visible);
  ASSERT_TRUE(r.faults[0].detectedAfter);  // 1ms probe x 200 > 100ms timeout
  EXPECT_LE(*r.faults[0].detectedAfter, 1.5);

  Scenario gray = parse(std::string(kFiveBackends) + health +
                        "faults: [{backend: b3, kind: slow, factor: 200, at: 10s, gray: true}]\n");
  r = run(gray);
  EXPECT_FALSE(r.faults[0].detectedAfter);  // probes pass: never taken out
  for (const BackendEvent& e : r.events) {
    EXPECT_NE(e.kind, BackendEvent::Kind::kHealthDown);
  }
  // Service time: 5ms before, 1s after; a full queue turns most later requests away, so few
  // slow ones start, but they dominate the mean.
  EXPECT_GT(r.backends[2].meanServiceMs, 20);
  EXPECT_GT(r.backends[2].overloaded, 1000u);
}

TEST(Faults, ErrorRate) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "faults: [{backend: b1, kind: errors, rate: 0.25, status: 503, at: 0s}]\n");
  const Results r = run(s);
  const BackendResult& b1 = r.backends[0];
  EXPECT_NEAR(static_cast<double>(b1.errors) / static_cast<double>(b1.attempts), 0.25, 0.02);
  EXPECT_EQ(r.failures, b1.errors);
}

TEST(Faults, RefusalRate) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "faults: [{backend: b1, kind: refuse, rate: 0.4, at: 0s}]\n");
  const Results r = run(s);
  const BackendResult& b1 = r.backends[0];
  EXPECT_NEAR(static_cast<double>(b1.refused) / static_cast<double>(b1.attempts), 0.4, 0.02);
}

// Flapping: down 1s, up 2s from 3s to 30s: down a third of 27s.
TEST(Faults, FlapAlternates) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "faults: [{backend: b1, kind: flap, at: 3s, until: 30s, down: 1s, up: 2s}]\n");
  const Results r = run(s);
  const BackendResult& b1 = r.backends[0];
  const double share = static_cast<double>(b1.refused + b1.resets) / b1.attempts;
  EXPECT_NEAR(share, 9.0 / 30, 0.03);
}

// ---- Policies ----

// Without health checks, a dead backend's breaker opens, its half-open probe fails, and it opens
// again for twice as long each time: base x 2^k, capped.
TEST(Policies, BreakerBackoffDoubles) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "breaker: {consecutive_failures: 3, backoff: {base: 250ms, multiplier: 2, "
                     "max: 4s}}\n"
                     "faults: [{backend: b2, kind: crash, at: 5s}]\n");
  const Results r = run(s);
  const auto& open = r.backends[1].breakerOpen;
  ASSERT_GE(open.size(), 6u);
  const std::vector<double> expected{0.25, 0.5, 1, 2, 4, 4};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_DOUBLE_EQ(open[i].openFor, expected[i]) << i;
    EXPECT_EQ(open[i].trip, static_cast<std::int64_t>(i + 1));
    if (i > 0) {  // reopened by the failed probe right after the interval ended
      EXPECT_GE(open[i].at, open[i - 1].at + open[i - 1].openFor);
      EXPECT_LT(open[i].at, open[i - 1].at + open[i - 1].openFor + 0.05);
    }
  }
  EXPECT_NEAR(open[0].at, 5.0, 0.05);
  ASSERT_TRUE(r.faults[0].detectedAfter);
  EXPECT_LT(*r.faults[0].detectedAfter, 0.05);
}

// Outlier detection ejects on consecutive errors that health probes cannot see (gray errors).
TEST(Policies, OutlierDetectionEjects) {
  Scenario s =
      parse(std::string(kFiveBackends) +
            "health_check: {interval: 1s, timeout: 100ms}\n"
            "outlier: {consecutive_5xx: 3, max_ejection_percent: 20, base_ejection_time: 3s}\n"
            "faults: [{backend: b1, kind: errors, rate: 0.9, at: 5s, until: 20s, gray: true}]\n");
  const Results r = run(s);
  EXPECT_GE(r.backends[0].ejections, 2u);
  ASSERT_TRUE(r.faults[0].detectedAfter);
  EXPECT_LT(*r.faults[0].detectedAfter, 0.1);
  bool unejected = false;
  for (const BackendEvent& e : r.events) {
    unejected = unejected || e.kind == BackendEvent::Kind::kUnejected;
  }
  EXPECT_TRUE(unejected);
}

// Timeouts end attempts the client stops waiting for; retries go elsewhere and succeed.
TEST(Policies, TimeoutsAndRetries) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "client: {timeout: 50ms, retries: {max: 2, backoff: {base: 1ms, max: 5ms}}}\n"
                     "faults: [{backend: b1, kind: slow, factor: 100, at: 0s}]\n");
  const Results r = run(s, "round_robin");
  const BackendResult& b1 = r.backends[0];
  EXPECT_GT(b1.timeouts, 300u);     // its 4 servers each take 500ms now
  EXPECT_GT(b1.overloaded, 4000u);  // and its queue is full
  EXPECT_EQ(r.failures, 0u);        // each retry goes to another backend
  std::uint64_t retried = 0;        // the others time out now and then too (exponential service)
  for (const BackendResult& b : r.backends) {
    retried += b.timeouts + b.overloaded;
  }
  EXPECT_EQ(r.retries, retried);
  EXPECT_EQ(r.attempts, r.requests + r.retries);
  EXPECT_GT(r.success.p99, 50);
}

// With a budget, retries in progress stay within max(min, percent of requests in progress).
TEST(Policies, RetryBudgetDenies) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "client: {retries: {max: 3, budget: {percent: 10, min_concurrency: 1}}}\n"
                     "faults: [{backend: b1, kind: errors, rate: 1.0, at: 0s},"
                     "{backend: b2, kind: errors, rate: 1.0, at: 0s}]\n");
  const Results r = run(s, "random");
  EXPECT_GT(r.retriesDenied, 0u);
  EXPECT_GT(r.failures, 0u);
  Scenario unbudgeted = s;
  unbudgeted.client.retries.budgetPercent.reset();
  const Results u = run(unbudgeted, "random");
  EXPECT_EQ(u.retriesDenied, 0u);
  EXPECT_GT(u.retries, r.retries);
  EXPECT_LT(u.failures, r.failures);
}

// A global limit: what passes is rate x time + burst; the rest is answered 429 and never
// reaches a backend.
TEST(Policies, RateLimit) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "rate_limit: {algorithm: gcra, requests_per_second: 400, burst: 50}\n");
  const Results r = run(s);
  EXPECT_NEAR(static_cast<double>(r.successes), 400 * 30 + 50, 60);
  EXPECT_EQ(r.successes + r.rateLimited, r.requests);
  EXPECT_EQ(r.attempts, r.successes);
}

// Zipf keys over a small LRU cache: popular keys hit; a hit never reaches a backend.
TEST(Policies, CacheHitsByPopularity) {
  Scenario s = parse(std::string(kFiveBackends) +
                     "keys: {count: 10000, zipf: 1.0}\n"
                     "cache: {max_size: 500, ttl: 60s, hit_latency: 100us}\n");
  const Results r = run(s);
  const double hitRatio = static_cast<double>(r.cacheHits) / static_cast<double>(r.requests);
  EXPECT_GT(hitRatio, 0.5);
  EXPECT_LT(hitRatio, 0.9);
  EXPECT_EQ(r.attempts + r.cacheHits, r.requests);
  EXPECT_NEAR(r.success.p50, 0.1, 0.01);  // most answers come from the cache
}

// Weighted round robin follows the weights exactly; Jain's index against weights is then 1.
TEST(Policies, WeightsAndJainIndex) {
  Scenario s = parse(R"(
duration: 20s
backends:
  - {id: a, weight: 3, servers: 8, service: 1ms}
  - {id: b, weight: 1, servers: 8, service: 1ms}
traffic: [{kind: poisson, rate: 1000}]
)");
  Results r = run(s, "weighted_round_robin");
  EXPECT_NEAR(r.backends[0].loadShare, 0.75, 1e-4);
  EXPECT_NEAR(r.jain, 1.0, 1e-6);
  r = run(s, "round_robin");  // weight-blind: x = (0.5/0.75, 0.5/0.25) = (2/3, 2)
  EXPECT_NEAR(r.backends[0].loadShare, 0.5, 1e-4);
  const double x1 = 2.0 / 3;
  const double x2 = 2.0;
  EXPECT_NEAR(r.jain, (x1 + x2) * (x1 + x2) / (2 * (x1 * x1 + x2 * x2)), 1e-3);
}

// The report writers cover every run and stay well-formed.
TEST(Reports, TableJsonAndHtml) {
  const Scenario s = parse(kEverything);
  const std::vector<Results> runs{run(s, "round_robin"), run(s, "p2c")};
  const std::string table = formatTable(s, runs);
  EXPECT_NE(table.find("round_robin"), std::string::npos);
  EXPECT_NE(table.find("breaker open intervals"), std::string::npos);
  EXPECT_NE(table.find("fault detection"), std::string::npos);
  const std::string json = toJson(s, runs);
  EXPECT_EQ(json.front(), '{');
  EXPECT_NE(json.find("\"algorithm\":\"p2c\""), std::string::npos);
  int depth = 0;
  bool inString = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      ASSERT_GE(depth, 0);
    }
  }
  EXPECT_EQ(depth, 0);
  const std::string html = toHtml(s, runs);
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace fairway::sim

namespace fairway::sim {
namespace {

// Memory follows concurrency, not run length: ten times longer, the same pools.
TEST(Simulation, MemoryDoesNotGrowWithRunLength) {
  Scenario s = parse(kEverything);
  s.faults.clear();
  s.duration = 10s;
  const Results shortRun = run(s, "p2c");
  s.duration = 100s;
  const Results longRun = run(s, "p2c");
  EXPECT_GT(longRun.requests, 9 * shortRun.requests);
  EXPECT_LT(longRun.requestSlots, 2 * shortRun.requestSlots + 64);
  EXPECT_LT(longRun.attemptSlots, 2 * shortRun.attemptSlots + 64);
  EXPECT_LT(longRun.peakQueuedEvents, 2 * shortRun.peakQueuedEvents + 64);
  EXPECT_LT(longRun.requestSlots, 1000u);  // ~ arrival rate x latency, nowhere near 2M requests
}

}  // namespace
}  // namespace fairway::sim
