// Configuration loading: the original design's file runs unchanged, every format gives the same
// Config, and every problem names its key, the reason and the value, all of them at once.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fairway/proxy/config_loader.hpp>

namespace fairway::proxy {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::string kDataDir = FAIRWAY_PROXY_TEST_DATA;
const std::string kExamplesDir = FAIRWAY_EXAMPLES_DIR;

// DESIGN.md's configuration, verbatim.
constexpr const char* kOriginal = R"(server:        { port: 8080, timeout: 30s }
backends:      [ { url: "http://localhost:3001", weight: 1 }, { url: "http://localhost:3002", weight: 2 } ]
load_balancer: { algorithm: "round_robin" }   # round_robin, least_connections, weighted_round_robin, ...
health_check:  { interval: 30s, timeout: 10s, path: "/health" }
rate_limit:    { requests_per_second: 100, burst: 10 }
cache:         { max_size: 1000, ttl: 300s }
)";

LoadResult yaml(const std::string& text) {
  return loadConfigString(text, "yaml");
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "key: message" lines, for messages in failed expectations.
std::string problemsOf(const LoadResult& result) {
  return describeProblems(result.problems);
}

// The problem at `key`, or null.
const ConfigProblem* problemAt(const LoadResult& result, const std::string& key) {
  for (const ConfigProblem& p : result.problems) {
    if (p.key == key) {
      return &p;
    }
  }
  return nullptr;
}

std::string d(Duration value) {
  return formatDuration(value);
}

// Every field of a Config as text (but sourceFile), so that two Configs compare with a readable
// difference.
std::string dump(const Config& c) {
  std::ostringstream o;
  for (const ListenerConfig& l : c.listeners) {
    o << "listener " << l.address << " " << l.port << "\n";
  }
  o << "workers " << c.workers << "\n";
  const LimitsConfig& lim = c.limits;
  o << "limits " << lim.maxRequestLineBytes << " " << lim.maxHeaderBytes << " "
    << lim.maxHeaderCount << " " << lim.maxBodyBytes << " " << lim.maxConnections << " "
    << lim.maxRequestsPerConnection << "\n";
  const ClientTimeouts& ct = c.clientTimeouts;
  o << "client timeouts " << d(ct.header) << " " << d(ct.body) << " " << d(ct.keepAlive) << " "
    << d(ct.send) << " " << d(ct.keepAliveRelease) << "\n";
  for (const UpstreamConfig& u : c.upstreams) {
    o << "upstream " << u.name << "\n";
    for (const BackendConfig& b : u.backends) {
      o << "  backend " << b.url << " " << b.host << " " << b.port << " " << b.weight << " " << b.id
        << "\n";
    }
    const balancer::Config& lb = u.balancer;
    o << "  balancer " << lb.algorithm << " endpoints " << lb.endpoints.size() << " slow_start "
      << d(lb.slowStart.window) << " " << lb.slowStart.aggression << " "
      << lb.slowStart.minWeightPercent << " " << lb.slowStart.steps << " panic "
      << lb.panic.threshold << " " << static_cast<int>(lb.panic.mode) << " hash "
      << lb.hash.pointsPerEndpoint << " " << lb.hash.balanceFactor << " ewma " << d(lb.ewma.decay)
      << " " << d(lb.ewma.penalty) << " seed " << lb.seed << " hash_header " << u.hashHeader
      << "\n";
    if (u.healthCheck) {
      const health::HealthCheckConfig& h = *u.healthCheck;
      o << "  health " << h.probe.path << " " << d(h.probe.timeout) << " statuses";
      for (const health::StatusRange& r : h.probe.expectedStatuses) {
        o << " " << r.from << "-" << r.to;
      }
      o << " rise " << h.rise << " fall " << h.fall << " " << d(h.interval) << " "
        << (h.fastInterval ? d(*h.fastInterval) : "-") << " "
        << (h.downInterval ? d(*h.downInterval) : "-") << " " << h.jitterPercent << " "
        << static_cast<int>(h.initialState) << " " << h.seed << "\n";
    } else {
      o << "  health off\n";
    }
    const health::OutlierConfig& out = u.outlier;
    o << "  outlier " << d(out.interval) << " " << d(out.baseEjectionTime) << " "
      << d(out.maxEjectionTime) << " " << out.maxEjectionPercent << " " << out.alwaysEjectOneHost
      << " " << out.consecutive5xx << " " << out.consecutiveGatewayFailure << " "
      << out.failurePercentageThreshold << " " << out.failurePercentageMinimumHosts << " "
      << out.failurePercentageRequestVolume << "\n";
    if (u.breaker) {
      const breaker::Config& b = *u.breaker;
      o << "  breaker " << (b.consecutiveFailures ? std::to_string(*b.consecutiveFailures) : "-")
        << " rate " << (b.failureRate ? std::to_string(b.failureRate->threshold) : "-") << " slow "
        << (b.slowCall ? d(b.slowCall->duration) + " " + std::to_string(b.slowCall->threshold)
                       : "-")
        << " window " << static_cast<int>(b.window.kind) << " " << b.window.size << " "
        << d(b.window.duration) << " " << b.window.buckets << " " << b.window.minimumCalls
        << " backoff " << d(b.backoff.base) << " " << b.backoff.multiplier << " "
        << d(b.backoff.max) << " " << static_cast<int>(b.backoff.jitter) << " "
        << d(b.backoff.resetAfter) << " half_open " << b.halfOpen.probes << " "
        << b.halfOpen.successesToClose.value_or(-1) << " " << b.seed << "\n";
    } else {
      o << "  breaker off\n";
    }
    const RetryConfig& r = u.retry;
    o << "  retry " << r.attempts << " statuses";
    for (int s : r.onStatuses) {
      o << " " << s;
    }
    o << " budget " << r.budgetPercent << " " << r.minRetriesInFlight << " " << d(r.backoffBase)
      << " " << d(r.backoffMax) << " " << r.bufferBytes << "\n";
    o << "  timeouts " << d(u.timeouts.connect) << " " << d(u.timeouts.response) << " "
      << d(u.timeouts.idle) << "\n";
    o << "  pool " << u.pool.maxIdlePerEndpoint << " " << u.pool.maxRequestsPerConnection << "\n";
  }
  for (const RouteConfig& r : c.routes) {
    o << "route '" << r.host << "' " << r.pathPrefix << " " << r.upstream << "\n";
  }
  const RateLimitConfig& rl = c.rateLimit;
  o << "rate_limit " << rl.enabled << " " << rl.requestsPerSecond << " " << rl.burst << " "
    << rl.key << " " << rl.dryRun << " " << rl.algorithm << " " << rl.trustedHops << " "
    << rl.maxKeys << "\n";
  o << "cache " << c.cache.enabled << " " << c.cache.maxEntries << " "
    << (c.cache.ttl ? d(*c.cache.ttl) : "-") << " " << c.cache.maxBodyBytes << " "
    << c.cache.maxBytes << "\n";
  o << "admin " << c.admin.enabled << " " << c.admin.address << " " << c.admin.port << "\n";
  o << "log " << c.log.accessLog << " " << c.log.accessFormat << " " << c.log.errorLog << " "
    << c.log.level << "\n";
  return o.str();
}

// ---------------------------------------------------------------------------------------------
// The original design's file

// DESIGN.md's file loads as it is: one upstream "default", one route "/" to it.
TEST(ConfigLoaderTest, OriginalDesignFileLoadsUnchanged) {
  const LoadResult result = yaml(kOriginal);
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_TRUE(result.problems.empty());
  const Config& c = *result.config;

  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 8080);
  EXPECT_EQ(c.workers, 0);

  ASSERT_EQ(c.upstreams.size(), 1u);
  const UpstreamConfig& u = c.upstreams[0];
  EXPECT_EQ(u.name, "default");
  ASSERT_EQ(u.backends.size(), 2u);
  EXPECT_EQ(u.backends[0].url, "http://localhost:3001");
  EXPECT_EQ(u.backends[0].host, "localhost");
  EXPECT_EQ(u.backends[0].port, 3001);
  EXPECT_EQ(u.backends[0].weight, 1);
  EXPECT_EQ(u.backends[0].id, "localhost:3001");
  EXPECT_EQ(u.backends[1].port, 3002);
  EXPECT_EQ(u.backends[1].weight, 2);
  EXPECT_EQ(u.backends[1].id, "localhost:3002");
  EXPECT_EQ(u.balancer.algorithm, "round_robin");
  EXPECT_EQ(u.timeouts.response, 30s);  // server.timeout
  ASSERT_TRUE(u.healthCheck);
  EXPECT_EQ(u.healthCheck->interval, 30s);
  EXPECT_EQ(u.healthCheck->probe.timeout, 10s);
  EXPECT_EQ(u.healthCheck->probe.path, "/health");
  EXPECT_EQ(u.healthCheck->rise, 2);  // library defaults for what the file leaves out
  EXPECT_EQ(u.healthCheck->fall, 3);
  EXPECT_TRUE(u.outlier.alwaysEjectOneHost);  // the proxy's default
  EXPECT_FALSE(u.breaker);

  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].host, "");
  EXPECT_EQ(c.routes[0].pathPrefix, "/");
  EXPECT_EQ(c.routes[0].upstream, "default");

  EXPECT_TRUE(c.rateLimit.enabled);
  EXPECT_EQ(c.rateLimit.requestsPerSecond, 100);
  EXPECT_EQ(c.rateLimit.burst, 10);
  EXPECT_TRUE(c.cache.enabled);
  EXPECT_EQ(c.cache.maxEntries, 1000u);
  EXPECT_EQ(c.cache.ttl, Duration(300s));
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.admin.port, 9901);
}

// examples/original.yaml is DESIGN.md's file byte for byte, and loads from disk.
TEST(ConfigLoaderTest, OriginalExampleFileIsTheDesignFile) {
  const std::string path = kExamplesDir + "/original.yaml";
  EXPECT_EQ(readFile(path), kOriginal);
  const LoadResult result = loadConfigFile(path);
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_EQ(result.config->sourceFile, path);
  EXPECT_EQ(dump(*result.config), dump(*yaml(kOriginal).config));
}

// The default configuration of the README's run command: three local backends, checked.
TEST(ConfigLoaderTest, DefaultExampleLoads) {
  const LoadResult result = loadConfigFile(kExamplesDir + "/fairway.yaml");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const Config& c = *result.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 8080);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.admin.port, 9901);
  ASSERT_EQ(c.upstreams.size(), 1u);
  const UpstreamConfig& u = c.upstreams[0];
  ASSERT_EQ(u.backends.size(), 3u);
  EXPECT_EQ(u.backends[0].id, "127.0.0.1:3001");
  EXPECT_EQ(u.backends[1].id, "127.0.0.1:3002");
  EXPECT_EQ(u.backends[2].id, "127.0.0.1:3003");
  EXPECT_EQ(u.balancer.algorithm, "round_robin");
  ASSERT_TRUE(u.healthCheck);
  EXPECT_EQ(u.healthCheck->probe.path, "/health");
  EXPECT_EQ(u.healthCheck->interval, 2s);
  EXPECT_TRUE(c.cache.enabled);
  EXPECT_EQ(c.cache.maxEntries, 10000u);
  EXPECT_EQ(c.cache.maxBodyBytes, 1u << 20);
  EXPECT_FALSE(c.cache.redis);
}

// Every cache key, the Redis tier included.
TEST(ConfigLoaderTest, CacheSection) {
  const LoadResult result = yaml(
      "backends: ['http://a:1']\n"
      "cache:\n"
      "  max_size: 5000\n"
      "  ttl: 1m\n"
      "  ttl_override: true\n"
      "  max_body_bytes: 256k\n"
      "  max_bytes: 64m\n"
      "  policy: s3fifo\n"
      "  coalesce_timeout: 2s\n"
      "  stale_if_error: 5m\n"
      "  tag_header: Cache-Tag\n"
      "  threads: 3\n"
      "  store_set_cookie: true\n"
      "  redis: {host: cache.internal, port: 6380, connect_timeout: 200ms, command_timeout: 20ms,\n"
      "          retry_interval: 2s, key_prefix: 'edge:', connections: 8, max_ttl: 1h,\n"
      "          revalidation_grace: 30s}\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const CacheConfig& c = result.config->cache;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.maxEntries, 5000u);
  EXPECT_EQ(c.ttl, Duration(1min));
  EXPECT_TRUE(c.ttlOverride);
  EXPECT_EQ(c.maxBodyBytes, 256u * 1024);
  EXPECT_EQ(c.maxBytes, 64u << 20);
  EXPECT_EQ(c.policy, "s3fifo");
  EXPECT_EQ(c.coalesceTimeout, 2s);
  EXPECT_EQ(c.staleIfError, 5min);
  EXPECT_EQ(c.tagHeader, "Cache-Tag");
  EXPECT_EQ(c.threads, 3);
  EXPECT_TRUE(c.storeSetCookie);
  ASSERT_TRUE(c.redis);
  EXPECT_EQ(c.redis->host, "cache.internal");
  EXPECT_EQ(c.redis->port, 6380);
  EXPECT_EQ(c.redis->connectTimeout, 200ms);
  EXPECT_EQ(c.redis->commandTimeout, 20ms);
  EXPECT_EQ(c.redis->retryInterval, 2s);
  EXPECT_EQ(c.redis->keyPrefix, "edge:");
  EXPECT_EQ(c.redis->connections, 8);
  EXPECT_EQ(c.redis->maxTtl, 1h);
  EXPECT_EQ(c.redis->revalidationGrace, 30s);

  const LoadResult off = yaml("backends: ['http://a:1']\ncache: {enabled: false, max_size: 5}\n");
  ASSERT_TRUE(off.config) << problemsOf(off);
  EXPECT_FALSE(off.config->cache.enabled);
}

// ---------------------------------------------------------------------------------------------
// Formats

// timeouts.keep_alive_release may be 0: an idle connection frees its buffers at once.
TEST(ConfigLoaderTest, KeepAliveReleaseMayBeZero) {
  const LoadResult result =
      yaml("backends: [{url: 'http://127.0.0.1:3001'}]\ntimeouts: {keep_alive_release: 0s}\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_EQ(result.config->clientTimeouts.keepAliveRelease, 0ms);
}

// The richer file: listeners, defaults at the top level, upstream overrides, routes.
TEST(ConfigLoaderTest, RicherFileBuildsUpstreamsAndRoutes) {
  const LoadResult result = loadConfigFile(kDataDir + "/rich.yaml");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const Config& c = *result.config;
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[1].address, "::1");
  EXPECT_EQ(c.listeners[1].port, 8081);
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.limits.maxHeaderBytes, 64u * 1024);
  EXPECT_EQ(c.limits.maxBodyBytes, 10u * 1024 * 1024);
  EXPECT_EQ(c.clientTimeouts.header, 5s);
  EXPECT_EQ(c.clientTimeouts.keepAlive, 2min);
  EXPECT_EQ(c.clientTimeouts.body, 60s);               // default
  EXPECT_EQ(c.clientTimeouts.keepAliveRelease, 25ms);  // default

  ASSERT_EQ(c.upstreams.size(), 2u);
  const UpstreamConfig& api = c.upstreams[0];
  EXPECT_EQ(api.name, "api");
  ASSERT_EQ(api.backends.size(), 3u);
  EXPECT_EQ(api.backends[0].weight, 2);
  EXPECT_EQ(api.backends[2].host, "::1");
  EXPECT_EQ(api.backends[2].id, "local");
  // Top-level defaults, overridden key by key.
  EXPECT_EQ(api.balancer.algorithm, "least_connections");
  EXPECT_EQ(api.balancer.slowStart.window, 30s);
  EXPECT_EQ(api.timeouts.connect, 1s);
  EXPECT_EQ(api.timeouts.response, 5s);
  ASSERT_TRUE(api.healthCheck);
  EXPECT_EQ(api.healthCheck->probe.path, "/healthz");
  EXPECT_EQ(api.healthCheck->fall, 2);
  ASSERT_EQ(api.healthCheck->probe.expectedStatuses.size(), 2u);
  EXPECT_EQ(api.healthCheck->probe.expectedStatuses[1].from, 204);
  ASSERT_TRUE(api.breaker);
  EXPECT_EQ(api.breaker->consecutiveFailures, 7);
  ASSERT_TRUE(api.breaker->failureRate);
  EXPECT_EQ(api.breaker->failureRate->threshold, 50);
  EXPECT_EQ(api.breaker->backoff.max, 1min);
  EXPECT_EQ(api.breaker->backoff.jitter, breaker::Jitter::kFull);
  EXPECT_EQ(api.retry.attempts, 3);
  EXPECT_EQ(api.retry.onStatuses, (std::vector<int>{502, 503}));
  EXPECT_EQ(api.retry.backoffBase, 10ms);

  const UpstreamConfig& stat = c.upstreams[1];
  EXPECT_EQ(stat.name, "static");
  ASSERT_EQ(stat.backends.size(), 1u);
  EXPECT_EQ(stat.backends[0].id, "static.internal:80");
  EXPECT_EQ(stat.balancer.algorithm, "consistent_hash");
  EXPECT_EQ(stat.balancer.slowStart.window, 30s);  // inherited
  EXPECT_EQ(stat.hashHeader, "X-User");
  EXPECT_FALSE(stat.healthCheck);  // enabled: false
  EXPECT_FALSE(stat.breaker);
  EXPECT_TRUE(stat.retry.onStatuses.empty());
  EXPECT_EQ(stat.retry.attempts, 3);
  EXPECT_EQ(stat.timeouts.response, 15s);

  ASSERT_EQ(c.routes.size(), 3u);
  EXPECT_EQ(c.routes[0].host, "api.example.com");
  EXPECT_EQ(c.routes[1].pathPrefix, "/static/");
  EXPECT_EQ(c.routes[1].upstream, "static");
  EXPECT_EQ(c.rateLimit.key, "header:X-Api-Key");
  EXPECT_EQ(c.rateLimit.algorithm, "gcra");
  EXPECT_EQ(c.rateLimit.trustedHops, 1);
  EXPECT_EQ(c.cache.maxBodyBytes, 2u * 1024 * 1024);
  EXPECT_EQ(c.log.accessFormat, "json");
  EXPECT_EQ(c.log.level, "debug");
}

// JSON, .properties, .ini and XML (POCO Util's readers) give exactly the Config the YAML gives.
TEST(ConfigLoaderTest, EveryFormatGivesTheSameConfig) {
  const LoadResult reference = loadConfigFile(kDataDir + "/rich.yaml");
  ASSERT_TRUE(reference.config) << problemsOf(reference);
  for (const char* extension : {"json", "properties", "ini", "xml"}) {
    SCOPED_TRACE(extension);
    const LoadResult result = loadConfigFile(kDataDir + "/rich." + extension);
    ASSERT_TRUE(result.config) << problemsOf(result);
    EXPECT_EQ(dump(*result.config), dump(*reference.config));
  }
}

// The original design's file in the other formats, as loadConfigString() takes them.
TEST(ConfigLoaderTest, OriginalDesignInOtherFormats) {
  const std::string reference = dump(*yaml(kOriginal).config);
  const std::vector<std::pair<const char*, std::string>> files = {
      {"json", R"({"server": {"port": 8080, "timeout": "30s"},
          "backends": [{"url": "http://localhost:3001", "weight": 1},
                       {"url": "http://localhost:3002", "weight": 2}],
          "load_balancer": {"algorithm": "round_robin"},
          "health_check": {"interval": "30s", "timeout": "10s", "path": "/health"},
          "rate_limit": {"requests_per_second": 100, "burst": 10},
          "cache": {"max_size": 1000, "ttl": "300s"}})"},
      {"properties",
       "server.port = 8080\nserver.timeout = 30s\n"
       "backends[0].url = http://localhost:3001\nbackends[0].weight = 1\n"
       "backends[1].url = http://localhost:3002\nbackends[1].weight = 2\n"
       "load_balancer.algorithm = round_robin\n"
       "health_check.interval = 30s\nhealth_check.timeout = 10s\nhealth_check.path = /health\n"
       "rate_limit.requests_per_second = 100\nrate_limit.burst = 10\n"
       "cache.max_size = 1000\ncache.ttl = 300s\n"},
      {"ini",
       "[server]\nport = 8080\ntimeout = 30s\n"
       "[backends[0]]\nurl = http://localhost:3001\nweight = 1\n"
       "[backends[1]]\nurl = http://localhost:3002\nweight = 2\n"
       "[load_balancer]\nalgorithm = round_robin\n"
       "[health_check]\ninterval = 30s\ntimeout = 10s\npath = /health\n"
       "[rate_limit]\nrequests_per_second = 100\nburst = 10\n"
       "[cache]\nmax_size = 1000\nttl = 300s\n"},
      {"xml",
       "<fairway><server><port>8080</port><timeout>30s</timeout></server>"
       "<backends><url>http://localhost:3001</url><weight>1</weight></backends>"
       "<backends><url>http://localhost:3002</url><weight>2</weight></backends>"
       "<load_balancer><algorithm>round_robin</algorithm></load_balancer>"
       "<health_check><interval>30s</interval><timeout>10s</timeout><path>/health</path>"
       "</health_check><rate_limit><requests_per_second>100</requests_per_second>"
       "<burst>10</burst></rate_limit><cache><max_size>1000</max_size><ttl>300s</ttl></cache>"
       "</fairway>"},
  };
  for (const auto& [format, text] : files) {
    SCOPED_TRACE(format);
    const LoadResult result = loadConfigString(text, format);
    ASSERT_TRUE(result.config) << problemsOf(result);
    EXPECT_EQ(dump(*result.config), reference);
  }
}

// readConfig() is the one reader: a MapConfiguration built in code reads like a file.
TEST(ConfigLoaderTest, ReadsAnyAbstractConfiguration) {
  Poco::AutoPtr<Poco::Util::MapConfiguration> conf(new Poco::Util::MapConfiguration);
  conf->setString("backends[0].url", "http://127.0.0.1:9000");
  conf->setString("server.port", "0");
  const LoadResult result = readConfig(*conf);
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_EQ(result.config->listeners[0].port, 0);
  EXPECT_EQ(result.config->upstreams[0].backends[0].id, "127.0.0.1:9000");
}

// The problems of a bad value come the same way whatever the format, with POCO's key syntax.
TEST(ConfigLoaderTest, ProblemsNameTheSameKeyInEveryFormat) {
  const std::vector<std::pair<const char*, std::string>> files = {
      {"yaml", "backends: [{url: 'http://a:1'}, {url: 'http://b:2', weight: 0}]\n"},
      {"json", R"({"backends": [{"url": "http://a:1"}, {"url": "http://b:2", "weight": 0}]})"},
      {"properties",
       "backends[0].url = http://a:1\nbackends[1].url = http://b:2\n"
       "backends[1].weight = 0\n"},
      {"ini", "[backends[0]]\nurl = http://a:1\n[backends[1]]\nurl = http://b:2\nweight = 0\n"},
      {"xml",
       "<f><backends><url>http://a:1</url></backends>"
       "<backends><url>http://b:2</url><weight>0</weight></backends></f>"},
  };
  for (const auto& [format, text] : files) {
    SCOPED_TRACE(format);
    const LoadResult result = loadConfigString(text, format);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.problems.size(), 1u) << problemsOf(result);
    EXPECT_EQ(result.problems[0].key, "backends[1].weight");
    EXPECT_EQ(result.problems[0].message, "must be >= 1 (got 0)");
  }
}

// ---------------------------------------------------------------------------------------------
// Problems

struct ProblemCase {
  std::string name;
  std::string yaml;
  std::string key;      // the key the problem names
  std::string message;  // a part of its message
};

// Each class of mistake, alone in an otherwise valid file, is one problem naming its key.
TEST(ConfigLoaderTest, EachProblemNamesItsKey) {
  const std::string b = "backends: [{url: 'http://127.0.0.1:3001'}]\n";
  const std::vector<ProblemCase> cases = {
      {"unknown top-level key", b + "healthcheck: {path: /x}\n", "healthcheck",
       "unknown key; did you mean `health_check`?"},
      {"unknown nested key", b + "health_check: {intervl: 5s}\n", "health_check.intervl",
       "unknown key; did you mean `interval`?"},
      {"unknown key far from any", b + "server: {colour: blue}\n", "server.colour",
       "unknown key (known here: "},
      {"port range", b + "server: {port: 70000}\n", "server.port", "must be <= 65535 (got 70000)"},
      {"port not a number", b + "server: {port: http}\n", "server.port",
       "must be a whole number (got http)"},
      {"workers range", b + "server: {workers: 5000}\n", "server.workers",
       "must be <= 1024 (got 5000)"},
      {"negative workers", b + "server: {workers: -1}\n", "server.workers",
       "must be >= 0 (got -1)"},
      {"server timeout garbage", b + "server: {timeout: soon}\n", "server.timeout",
       "must be a duration such as 30s"},
      {"zero timeout", b + "server: {timeout: 0s}\n", "server.timeout", "must be > 0 (got 0s)"},
      {"listener address", b + "server: {address: 'not an address!'}\n", "server.address",
       "must be an IP address or a host name"},
      {"weight zero", "backends: [{url: 'http://a:1'}, {url: 'http://b:1', weight: 0}]\n",
       "backends[1].weight", "must be >= 1 (got 0)"},
      {"weight too large", "backends: [{url: 'http://a:1', weight: 2000000}]\n",
       "backends[0].weight", "must be <= 1000000 (got 2000000)"},
      {"https backend", "backends: [{url: 'https://a:443'}]\n", "backends[0].url",
       "https upstreams are not supported"},
      {"no scheme", "backends: [{url: 'a:1'}]\n", "backends[0].url", "must be an http:// URL"},
      {"backend path", "backends: [{url: 'http://a:1/api'}]\n", "backends[0].url",
       "must not have a path"},
      {"backend port", "backends: [{url: 'http://a:0'}]\n", "backends[0].url",
       "port must be in [1, 65535]"},
      {"bare IPv6", "backends: [{url: 'http://::1:80'}]\n", "backends[0].url",
       "IPv6 address in brackets"},
      {"bad IPv6", "backends: [{url: 'http://[::g]:80'}]\n", "backends[0].url",
       "invalid IPv6 address"},
      {"bad host", "backends: [{url: 'http://a_b!:80'}]\n", "backends[0].url", "invalid host name"},
      {"missing url", "backends: [{weight: 2}]\n", "backends[0].url", "is required"},
      {"duplicate backend", "backends: ['http://a:1', 'http://a:1']\n", "backends[1]",
       "duplicate backend id 'a:1' (also backends[0])"},
      {"duplicate id", "backends: [{url: 'http://a:1', id: x}, {url: 'http://b:1', id: x}]\n",
       "backends[1].id", "duplicate backend id 'x'"},
      {"no backends", "server: {port: 8080}\n", "backends", "no backends"},
      {"empty backends", "backends: []\n", "backends", "at least one backend is required"},
      {"algorithm", b + "load_balancer: {algorithm: round_robbin}\n", "load_balancer.algorithm",
       "did you mean `round_robin`?"},
      {"balancer option", b + "load_balancer: {panic: {threshold: 2}}\n",
       "load_balancer.panic.threshold", "must be a share in [0, 1] (got 2)"},
      {"health rise", b + "health_check: {rise: 0}\n", "health_check.rise", "must be >= 1 (got 0)"},
      {"health path", b + "health_check: {path: health}\n", "health_check.path",
       "must start with '/'"},
      {"health statuses", b + "health_check: {expected_statuses: [200, 600]}\n",
       "health_check.expected_statuses[1]", "within [100, 599]"},
      {"health state", b + "health_check: {initial_state: sideways}\n",
       "health_check.initial_state", "must be one of up, fully_up, down, fully_down"},
      {"health jitter", b + "health_check: {jitter_percent: 70}\n", "health_check.jitter_percent",
       "must be in [0, 50] (got 70)"},
      {"outlier", b + "outlier: {max_ejection_percent: 150}\n", "outlier.max_ejection_percent",
       "must be in [0, 100] (got 150)"},
      {"breaker", b + "breaker: {backoff: {multiplier: 0.5}}\n", "breaker.backoff.multiplier",
       "must be >= 1 (got 0.5)"},
      {"breaker never trips", b + "breaker: {consecutive_failures: off}\n", "breaker",
       "could never open"},
      {"breaker section as value", b + "breaker: sometimes\n", "breaker",
       "must be a section with keys, or false to turn it off"},
      {"retry attempts", b + "retry: {attempts: 0}\n", "retry.attempts", "must be >= 1 (got 0)"},
      {"retry status", b + "retry: {on_statuses: [503, 200]}\n", "retry.on_statuses[1]",
       "must be an HTTP status in [400, 599] (got 200)"},
      {"retry backoff order", b + "retry: {backoff: {base: 1s, max: 10ms}}\n", "retry.backoff.max",
       "must be >= retry.backoff.base (1s) (got 10ms)"},
      {"retry budget", b + "retry: {budget_percent: 120}\n", "retry.budget_percent",
       "must be <= 100 (got 120)"},
      {"limits size", b + "limits: {max_header_bytes: lots}\n", "limits.max_header_bytes",
       "must be a size in bytes"},
      {"limits range", b + "limits: {max_headers: 0}\n", "limits.max_headers",
       "must be >= 1 (got 0)"},
      {"keep-alive release below zero", b + "timeouts: {keep_alive_release: -1s}\n",
       "timeouts.keep_alive_release", "must not be negative (got -1s)"},
      {"client timeout in an upstream",
       "upstreams: {api: {backends: ['http://a:1'], timeouts: {keep_alive: 5s}}}\n",
       "upstreams.api.timeouts.keep_alive", "set timeouts.keep_alive at the top level"},
      {"route to unknown upstream",
       "upstreams: {api: {backends: ['http://a:1']}}\nroutes: [{path: /, upstream: apx}]\n",
       "routes[0].upstream", "no upstream named 'apx'; did you mean `api`?"},
      {"duplicate route",
       "upstreams: {api: {backends: ['http://a:1']}}\n"
       "routes: [{host: A.com, path: /, upstream: api}, {host: 'a.com:8080', path: /, upstream: "
       "api}]\n",
       "routes[1]", "duplicate route: same host 'a.com' and path '/' as routes[0]"},
      {"route path", b + "routes: [{path: api, upstream: default}]\n", "routes[0].path",
       "must be a path prefix starting with '/'"},
      {"route needs upstream", b + "routes: [{path: /}]\n", "routes[0].upstream", "is required"},
      {"routes needed",
       "upstreams: {a: {backends: ['http://a:1']}, b: {backends: ['http://b:1']}}\n", "routes",
       "is required when there are several upstreams"},
      {"default twice", b + "upstreams: {default: {backends: ['http://b:1']}}\n",
       "upstreams.default", "already form the upstream `default`"},
      {"upstream without backends", "upstreams: {api: {retry: {attempts: 2}}}\n",
       "upstreams.api.backends", "is required"},
      {"listeners and server.port", b + "server: {port: 1}\nlisteners: [{port: 2}]\n", "listeners",
       "use one or the other"},
      {"duplicate listener", b + "listeners: [{port: 8000}, {port: 8000}]\n", "listeners[1]",
       "duplicate listener 0.0.0.0:8000"},
      {"admin port clash", b + "admin: {port: 8080}\n", "admin.port", "is also server.port's"},
      {"rate limit rps", b + "rate_limit: {requests_per_second: 0, burst: 5}\n",
       "rate_limit.requests_per_second", "must be > 0 (got 0)"},
      {"rate limit burst", b + "rate_limit: {requests_per_second: 10, burst: 0}\n",
       "rate_limit.burst", "must be >= 1 (got 0)"},
      {"rate limit needs rps", b + "rate_limit: {burst: 5}\n", "rate_limit.requests_per_second",
       "is required"},
      {"rate limit key", b + "rate_limit: {requests_per_second: 1, burst: 1, key: ip}\n",
       "rate_limit.key", "must be client, route or header:<name> (got ip)"},
      {"rate limit algorithm",
       b + "rate_limit: {requests_per_second: 1, burst: 1, algorithm: leaky}\n",
       "rate_limit.algorithm", "must be one of token_bucket, gcra, sliding_window"},
      {"rate limit redis port",
       b + "rate_limit: {requests_per_second: 1, burst: 1, redis: {port: 0}}\n",
       "rate_limit.redis.port", "must be >= 1 (got 0)"},
      {"rate limit redis fail mode",
       b + "rate_limit: {requests_per_second: 1, burst: 1, redis: {fail_mode: maybe}}\n",
       "rate_limit.redis.fail_mode", "must be one of open, closed, local"},
      {"rate limit redis unknown key",
       b + "rate_limit: {requests_per_second: 1, burst: 1, redis: {hots: a}}\n",
       "rate_limit.redis.hots", "unknown key"},
      {"rate limit hops", b + "rate_limit: {requests_per_second: 1, burst: 1, trusted_hops: -1}\n",
       "rate_limit.trusted_hops", "must be >= 0 (got -1)"},
      {"rate limit keys", b + "rate_limit: {requests_per_second: 1, burst: 1, max_keys: 1e12}\n",
       "rate_limit.max_keys", "must be a whole number"},
      {"rate limit key count",
       b + "rate_limit: {requests_per_second: 1, burst: 1, max_keys: 1000000000}\n",
       "rate_limit.max_keys", "must be in [1, 268435456] (got 1000000000)"},
      {"rate limit refill", b + "rate_limit: {requests_per_second: 0.000001, burst: 1000000}\n",
       "rate_limit.burst", "must take at most 10 years"},
      {"cache size", b + "cache: {max_size: 0}\n", "cache.max_size", "must be >= 1 (got 0)"},
      {"cache bytes", b + "cache: {max_bytes: 1k, max_body_bytes: 2k}\n", "cache.max_bytes",
       "must be >= max_body_bytes (2048) (got 1024)"},
      {"cache policy", b + "cache: {policy: fifo}\n", "cache.policy", "must be one of"},
      {"cache coalesce", b + "cache: {coalesce_timeout: -1s}\n", "cache.coalesce_timeout", ""},
      {"cache tag header", b + "cache: {tag_header: 'a b'}\n", "cache.tag_header",
       "must be a header field name"},
      {"cache threads", b + "cache: {threads: 0}\n", "cache.threads", "must be >= 1 (got 0)"},
      {"cache redis port", b + "cache: {redis: {port: 70000}}\n", "cache.redis.port",
       "must be <= 65535"},
      {"cache redis prefix", b + "cache: {redis: {key_prefix: ''}}\n", "cache.redis.key_prefix",
       "must not be empty"},
      {"cache redis timeout", b + "cache: {redis: {command_timeout: 0s}}\n",
       "cache.redis.command_timeout", ""},
      {"cache redis unknown key", b + "cache: {redis: {hots: a}}\n", "cache.redis.hots",
       "unknown key"},
      {"log level", b + "log: {level: verbose}\n", "log.level", "must be one of none, fatal"},
      {"bool", b + "admin: {enabled: maybe}\n", "admin.enabled", "must be true or false"},
      {"section as value", b + "server: 8080\n", "server", "must be a section with keys"},
      {"value as section", b + "server: {port: {number: 1}}\n", "server.port",
       "must be a single value, not a section"},
      {"duplicate yaml key", b + "server: {port: 1, port: 2}\n", "server.port", "duplicate key"},
  };
  for (const ProblemCase& c : cases) {
    SCOPED_TRACE(c.name);
    const LoadResult result = yaml(c.yaml);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.problems.size(), 1u) << problemsOf(result);
    EXPECT_EQ(result.problems[0].key, c.key) << problemsOf(result);
    EXPECT_THAT(result.problems[0].message, HasSubstr(c.message)) << problemsOf(result);
  }
}

// Inside an upstream, the libraries' keys get the upstream's path in front.
TEST(ConfigLoaderTest, UpstreamProblemsCarryTheUpstreamPath) {
  const LoadResult result = yaml(
      "upstreams:\n"
      "  api:\n"
      "    backends: ['http://a:1']\n"
      "    health_check: {rise: 0, interval: 0s}\n"
      "    breaker: {half_open: {probes: 0}}\n"
      "    retry: {attempts: 11}\n"
      "    load_balancer: {hash: {points_per_endpoint: 0}}\n");
  EXPECT_FALSE(result.config);
  for (const char* key : {"upstreams.api.health_check.rise", "upstreams.api.health_check.interval",
                          "upstreams.api.breaker.half_open.probes", "upstreams.api.retry.attempts",
                          "upstreams.api.load_balancer.hash.points_per_endpoint"}) {
    EXPECT_NE(problemAt(result, key), nullptr) << key << "\n" << problemsOf(result);
  }
  EXPECT_EQ(result.problems.size(), 5u) << problemsOf(result);
  EXPECT_EQ(problemAt(result, "upstreams.api.health_check.rise")->message, "must be >= 1 (got 0)");
}

// Every problem is reported, not just the first, each with its line in a YAML file.
TEST(ConfigLoaderTest, ReportsEveryProblemAtOnce) {
  const LoadResult result = yaml(
      "server:\n"
      "  port: 70000\n"
      "  timout: 30s\n"
      "backends:\n"
      "  - url: http://localhost:3001\n"
      "  - url: http://localhost:3002\n"
      "    weight: 0\n"
      "  - url: https://localhost:3003\n"
      "health_check:\n"
      "  rise: 0\n"
      "  fall: 0\n"
      "  interval: never\n"
      "cache: {max_size: 0}\n");
  EXPECT_FALSE(result.config);
  const std::vector<std::pair<std::string, int>> expected = {{"server.port", 2},
                                                             {"server.timout", 3},
                                                             {"backends[1].weight", 7},
                                                             {"backends[2].url", 8},
                                                             {"health_check.rise", 10},
                                                             {"health_check.fall", 11},
                                                             {"health_check.interval", 12},
                                                             {"cache.max_size", 13}};
  ASSERT_EQ(result.problems.size(), expected.size()) << problemsOf(result);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(result.problems[i].key, expected[i].first) << problemsOf(result);
    EXPECT_EQ(result.problems[i].line, expected[i].second) << problemsOf(result);
  }
  EXPECT_THAT(describeProblems(result.problems),
              HasSubstr("backends[1].weight: must be >= 1 (got 0) [line 7]\n"));
}

// A bad top-level default is reported once, not again for each upstream that inherits it.
TEST(ConfigLoaderTest, BadDefaultIsReportedOnce) {
  const LoadResult result = yaml(
      "health_check: {fall: 0}\n"
      "upstreams: {a: {backends: ['http://a:1']}, b: {backends: ['http://b:1']}}\n"
      "routes: [{path: /, upstream: a}]\n");
  ASSERT_EQ(result.problems.size(), 1u) << problemsOf(result);
  EXPECT_EQ(result.problems[0].key, "health_check.fall");
}

// A list with a gap in its numbering (.properties) is a problem at the missing index.
TEST(ConfigLoaderTest, ListGapIsAProblem) {
  const LoadResult result = loadConfigString(
      "backends[0].url = http://a:1\nbackends[2].url = http://b:1\n", "properties");
  EXPECT_FALSE(result.config);
  ASSERT_NE(problemAt(result, "backends[1]"), nullptr) << problemsOf(result);
  EXPECT_THAT(problemAt(result, "backends[1]")->message, HasSubstr("missing"));
}

// ---------------------------------------------------------------------------------------------
// Syntax errors, empty and missing files

// A YAML syntax error names the line and the column.
TEST(ConfigLoaderTest, YamlSyntaxErrorNamesLineAndColumn) {
  const LoadResult result = yaml("server:\n  port: 8080\n timeout: [30s\n");
  EXPECT_FALSE(result.config);
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_THAT(result.problems[0].message, HasSubstr("YAML syntax error at line 3, column "));
}

// JSON and XML syntax errors are problems too, never exceptions.
TEST(ConfigLoaderTest, OtherSyntaxErrorsAreProblems) {
  for (const auto& [format, text] : std::vector<std::pair<const char*, const char*>>{
           {"json", "{\"backends\": [ {\"url\": \"http://a:1\" }"},
           {"xml", "<fairway><backends></fairway>"},
       }) {
    SCOPED_TRACE(format);
    const LoadResult result = loadConfigString(text, format);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.problems.size(), 1u);
    EXPECT_THAT(result.problems[0].message, HasSubstr("syntax error"));
  }
  EXPECT_FALSE(loadConfigString("backends: []", "toml").config);
}

// Empty input, in any format, is one clear problem.
TEST(ConfigLoaderTest, EmptyConfiguration) {
  for (const auto& [format, text] : std::vector<std::pair<const char*, const char*>>{
           {"yaml", ""},
           {"yaml", "# nothing but a comment\n"},
           {"yaml", "---\n"},
           {"json", "  \n"},
           {"json", "{}"},
           {"properties", "# comment\n"},
           {"ini", ""},
           {"xml", "<fairway/>"},
       }) {
    SCOPED_TRACE(std::string(format) + ": " + text);
    const LoadResult result = loadConfigString(text, format);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.problems.size(), 1u) << problemsOf(result);
    EXPECT_THAT(result.problems[0].message, HasSubstr("the configuration is empty"));
  }
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fairway-config-test-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

// An empty file on disk, a missing file, a directory and an unknown extension are problems.
TEST_F(ConfigFileTest, FileProblems) {
  LoadResult result = loadConfigFile(write("empty.yaml", ""));
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_THAT(result.problems[0].message, HasSubstr("the configuration is empty"));

  result = loadConfigFile((dir_ / "missing.yaml").string());
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_THAT(result.problems[0].message, HasSubstr("missing.yaml: cannot open: no such file"));

  std::filesystem::create_directories(dir_ / "dir.yaml");
  result = loadConfigFile((dir_ / "dir.yaml").string());
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_THAT(result.problems[0].message, HasSubstr("not a regular file"));

  result = loadConfigFile(write("fairway.conf", "backends: ['http://a:1']\n"));
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_THAT(result.problems[0].message, HasSubstr("unknown configuration format '.conf'"));
}

// The extension chooses the format, in any case; .yml is YAML.
TEST_F(ConfigFileTest, ExtensionChoosesTheFormat) {
  EXPECT_TRUE(loadConfigFile(write("a.yml", "backends: ['http://a:1']\n")).config);
  EXPECT_TRUE(loadConfigFile(write("a.JSON", R"({"backends": ["http://a:1"]})")).config);
  EXPECT_TRUE(loadConfigFile(write("a.properties", "backends[0] = http://a:1\n")).config);
  EXPECT_TRUE(loadConfigFile(write("a.ini", "backends[0] = http://a:1\n")).config);
  EXPECT_TRUE(loadConfigFile(write("a.xml", "<f><backends>http://a:1</backends></f>")).config);
}

// ---------------------------------------------------------------------------------------------
// Semantics

// Top-level sections are every upstream's defaults; an upstream overrides key by key, and
// `enabled: false` or `false` turns an inherited section off.
TEST(ConfigLoaderTest, TopLevelSectionsAreUpstreamDefaults) {
  const LoadResult result = yaml(
      "health_check: {interval: 5s, path: /hc}\n"
      "breaker: {}\n"
      "retry: {attempts: 4}\n"
      "pool: {max_idle_per_endpoint: 8}\n"
      "timeouts: {connect: 2s}\n"
      "upstreams:\n"
      "  a: {backends: ['http://a:1'], health_check: {interval: 1s}, retry: {budget_percent: 5}}\n"
      "  b: {backends: ['http://b:1'], health_check: {enabled: false}, breaker: false}\n"
      "  c: {backends: ['http://c:1'], timeouts: {connect: 3s}}\n"
      "routes: [{path: /, upstream: a}]\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const auto& ups = result.config->upstreams;
  ASSERT_EQ(ups.size(), 3u);
  ASSERT_TRUE(ups[0].healthCheck);
  EXPECT_EQ(ups[0].healthCheck->interval, 1s);
  EXPECT_EQ(ups[0].healthCheck->probe.path, "/hc");
  ASSERT_TRUE(ups[0].breaker);
  EXPECT_EQ(ups[0].breaker->consecutiveFailures, 5);  // breaker: {} = the library defaults
  EXPECT_EQ(ups[0].retry.attempts, 4);
  EXPECT_EQ(ups[0].retry.budgetPercent, 5);
  EXPECT_EQ(ups[0].pool.maxIdlePerEndpoint, 8u);
  EXPECT_EQ(ups[0].timeouts.connect, 2s);
  EXPECT_FALSE(ups[1].healthCheck);
  EXPECT_FALSE(ups[1].breaker);
  EXPECT_EQ(ups[2].timeouts.connect, 3s);
  ASSERT_TRUE(ups[2].healthCheck);
  EXPECT_EQ(ups[2].healthCheck->interval, 5s);
}

// YAML anchors and merge keys (`<<: *defaults`): keys written in the map win over merged ones;
// top-level `x-...` keys are a place for anchors and are not read.
TEST(ConfigLoaderTest, YamlMergeKeys) {
  const LoadResult result = yaml(
      "x-defaults: &defaults\n"
      "  health_check: {path: /hc, interval: 3s}\n"
      "  retry: {attempts: 3}\n"
      "upstreams:\n"
      "  a:\n"
      "    <<: *defaults\n"
      "    backends: ['http://a:1']\n"
      "    retry: {attempts: 4}\n"
      "  b:\n"
      "    <<: [*defaults]\n"
      "    backends: ['http://b:1']\n"
      "routes: [{path: /, upstream: a}]\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const auto& ups = result.config->upstreams;
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].retry.attempts, 4);
  EXPECT_EQ(ups[1].retry.attempts, 3);
  ASSERT_TRUE(ups[1].healthCheck);
  EXPECT_EQ(ups[1].healthCheck->probe.path, "/hc");
  EXPECT_EQ(ups[1].healthCheck->interval, 3s);
}

// Aliases that would expand to a billion values ("billion laughs") stop at a bound, at once.
TEST(ConfigLoaderTest, AliasExpansionIsBounded) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) {
      text += (j == 0 ? "*a" : ", *a") + std::to_string(i - 1);
    }
    text += "]\n";
  }
  const LoadResult result = yaml(text);
  EXPECT_FALSE(result.config);
  EXPECT_THAT(problemsOf(result), HasSubstr("values once aliases are expanded"));
}

// Nesting beyond any configuration's depth is a problem, not a stack overflow.
TEST(ConfigLoaderTest, DeepNestingIsBounded) {
  EXPECT_FALSE(yaml("a: " + std::string(100'000, '[')).config);
  EXPECT_FALSE(loadConfigString("{\"a\": " + std::string(100'000, '['), "json").config);
  std::string xml = "<f>";
  for (int i = 0; i < 200; ++i) {
    xml += "<a>";
  }
  for (int i = 0; i < 200; ++i) {
    xml += "</a>";
  }
  const LoadResult result = loadConfigString(xml + "</f>", "xml");
  EXPECT_FALSE(result.config);
  EXPECT_THAT(problemsOf(result), HasSubstr("levels deep"));
}

// Without routes, "/" goes to "default" or to the only upstream; hosts are normalised.
TEST(ConfigLoaderTest, DefaultRoutesAndHosts) {
  LoadResult result = yaml("upstreams: {web: {backends: ['http://a:1']}}\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  ASSERT_EQ(result.config->routes.size(), 1u);
  EXPECT_EQ(result.config->routes[0].upstream, "web");

  result =
      yaml("upstreams: {default: {backends: ['http://a:1']}, other: {backends: ['http://b:1']}}\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  ASSERT_EQ(result.config->routes.size(), 1u);
  EXPECT_EQ(result.config->routes[0].upstream, "default");

  result = yaml(
      "backends: ['http://a:1']\n"
      "routes: [{host: '*', path: /a, upstream: default}, {host: 'WWW.Example.com:443', "
      "upstream: default}]\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_EQ(result.config->routes[0].host, "");
  EXPECT_EQ(result.config->routes[1].host, "www.example.com");
  EXPECT_EQ(result.config->routes[1].pathPrefix, "/");
}

// Backend URLs: names, IPv4 and bracketed IPv6, port 80 by default, a trailing '/' allowed.
TEST(ConfigLoaderTest, BackendUrls) {
  const LoadResult result = yaml(
      "backends: ['http://example.com', 'HTTP://10.1.2.3:8080/', 'http://[2001:db8::1]:81']\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const auto& backends = result.config->upstreams[0].backends;
  ASSERT_EQ(backends.size(), 3u);
  EXPECT_EQ(backends[0].host, "example.com");
  EXPECT_EQ(backends[0].port, 80);
  EXPECT_EQ(backends[0].id, "example.com:80");
  EXPECT_EQ(backends[1].host, "10.1.2.3");
  EXPECT_EQ(backends[1].port, 8080);
  EXPECT_EQ(backends[2].host, "2001:db8::1");
  EXPECT_EQ(backends[2].port, 81);
  EXPECT_EQ(backends[2].id, "[2001:db8::1]:81");
}

// .ini and .properties keep quotes in values; a quoted value means what is inside.
TEST(ConfigLoaderTest, QuotedValuesInIniAndProperties) {
  for (const auto& [format, text] : std::vector<std::pair<const char*, const char*>>{
           {"ini", "[backends[0]]\nurl = \"http://a:1\"\n[health_check]\npath = '/hc'\n"},
           {"properties", "backends[0].url = \"http://a:1\"\nhealth_check.path = '/hc'\n"},
       }) {
    SCOPED_TRACE(format);
    const LoadResult result = loadConfigString(text, format);
    ASSERT_TRUE(result.config) << problemsOf(result);
    EXPECT_EQ(result.config->upstreams[0].backends[0].host, "a");
    EXPECT_EQ(result.config->upstreams[0].healthCheck->probe.path, "/hc");
  }
}

// A plain number is seconds: `timeout: 30` is the original design's `timeout: 30s`.
TEST(ConfigLoaderTest, PlainNumberDurationsAreSeconds) {
  const LoadResult result = yaml(
      "server: {timeout: 30}\nbackends: ['http://a:1']\n"
      "health_check: {interval: 0.5}\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  EXPECT_EQ(result.config->upstreams[0].timeouts.response, 30s);
  EXPECT_EQ(result.config->upstreams[0].healthCheck->interval, 500ms);
}

// Sections the original file does not have keep config.hpp's defaults.
TEST(ConfigLoaderTest, AbsentSectionsKeepDefaults) {
  const LoadResult result = yaml("backends: ['http://a:1']\n");
  ASSERT_TRUE(result.config) << problemsOf(result);
  const Config& c = *result.config;
  const Config defaults;
  EXPECT_EQ(c.limits.maxHeaderBytes, defaults.limits.maxHeaderBytes);
  EXPECT_EQ(c.clientTimeouts.header, defaults.clientTimeouts.header);
  EXPECT_FALSE(c.rateLimit.enabled);
  EXPECT_FALSE(c.cache.enabled);
  EXPECT_FALSE(c.upstreams[0].healthCheck);
  EXPECT_EQ(c.upstreams[0].timeouts.response, 30s);
  EXPECT_EQ(c.upstreams[0].retry.onStatuses, (std::vector<int>{502, 503, 504}));
  EXPECT_EQ(c.log.level, "information");
}

// ---------------------------------------------------------------------------------------------
// Durations and sizes

TEST(ConfigValuesTest, Durations) {
  const std::vector<std::pair<std::string, Duration>> good = {
      {"30s", 30s},
      {"500ms", 500ms},
      {"250us", 250us},
      {"100ns", 100ns},
      {"2m", 2min},
      {"1h", 1h},
      {"30", 30s},
      {"0.5", 500ms},
      {"1.5s", 1500ms},
      {"1m30s", 90s},
      {"1h2m3s4ms", 1h + 2min + 3s + 4ms},
      {" 10s ", 10s},
      {"0", 0s},
      {"0s", 0s},
      {"2562047h", 2562047h},
      {"9223372036854775807ns", Duration::max()},
  };
  for (const auto& [text, expected] : good) {
    SCOPED_TRACE(text);
    std::string why;
    const auto value = parseDuration(text, &why);
    ASSERT_TRUE(value) << why;
    EXPECT_EQ(*value, expected);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "must be a duration"},
      {"soon", "must be a duration"},
      {"-5s", "must not be negative"},
      {"5 s", "unknown unit ' s'"},
      {"5d", "unknown unit 'd'"},
      {"5.s", "must be a duration"},
      {".5s", "must be a duration"},
      {"1s30", "must be a duration"},
      {"0.1ns", "whole number of nanoseconds"},
      {"2562048h", "too large"},
      {"9223372036854775808ns", "too large"},
      {"99999999999999999999999s", "too large"},
  };
  for (const auto& [text, reason] : bad) {
    SCOPED_TRACE(text);
    std::string why;
    EXPECT_FALSE(parseDuration(text, &why));
    EXPECT_THAT(why, HasSubstr(reason));
  }
}

TEST(ConfigValuesTest, Sizes) {
  const std::vector<std::pair<std::string, std::uint64_t>> good = {
      {"0", 0},
      {"65536", 65536},
      {"64k", 64 * 1024},
      {"64K", 64 * 1024},
      {"64KiB", 64 * 1024},
      {"64kb", 64 * 1024},
      {"64 KiB", 64 * 1024},
      {"1m", 1 << 20},
      {"1MiB", 1 << 20},
      {"1.5m", 3 << 19},
      {"1g", 1ULL << 30},
      {"2GiB", 2ULL << 30},
      {"1t", 1ULL << 40},
      {"100b", 100},
      {"18446744073709551615", 18446744073709551615ULL},
  };
  for (const auto& [text, expected] : good) {
    SCOPED_TRACE(text);
    std::string why;
    const auto value = parseSize(text, &why);
    ASSERT_TRUE(value) << why;
    EXPECT_EQ(*value, expected);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "must be a size"},
      {"lots", "must be a size"},
      {"-1k", "must not be negative"},
      {"64x", "unknown unit 'x'"},
      {"0.1k", "whole number of bytes"},
      {"0.5", "whole number of bytes"},
      {"18446744073709551616", "too large"},
      {"16777216t", "too large"},
  };
  for (const auto& [text, reason] : bad) {
    SCOPED_TRACE(text);
    std::string why;
    EXPECT_FALSE(parseSize(text, &why));
    EXPECT_THAT(why, HasSubstr(reason));
  }
}

// In a file, a bad duration or size names its key and shows the value.
TEST(ConfigValuesTest, BadValuesInAFile) {
  const LoadResult result = yaml(
      "backends: ['http://a:1']\n"
      "timeouts: {client_header: 5x}\n"
      "limits: {max_body_bytes: 1.5q}\n");
  ASSERT_EQ(result.problems.size(), 2u) << problemsOf(result);
  EXPECT_EQ(result.problems[0].key, "timeouts.client_header");
  EXPECT_EQ(result.problems[0].message, "unknown unit 'x' (use ns, us, ms, s, m or h) (got 5x)");
  EXPECT_EQ(result.problems[1].key, "limits.max_body_bytes");
  EXPECT_THAT(result.problems[1].message, HasSubstr("(got 1.5q)"));
}

}  // namespace
}  // namespace fairway::proxy
