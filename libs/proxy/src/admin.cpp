#include "admin.hpp"

#include <ostream>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <fairway/proxy/server.hpp>
#include <fairway/proxy/version.hpp>

namespace fairway::proxy {

namespace {

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A Prometheus label value: backslash, double quote and line feed escaped.
std::string labelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string backendsJson(const MetricsSnapshot& metrics) {
  std::ostringstream out;
  out << "[";
  bool first = true;
  for (const auto& e : metrics.endpoints) {
    out << (first ? "" : ",") << "\n  {\"upstream\":" << jsonString(e.upstream)
        << ",\"id\":" << jsonString(e.id) << ",\"address\":" << jsonString(e.address)
        << ",\"weight\":" << e.weight << ",\"available\":" << (e.available ? "true" : "false")
        << ",\"health\":" << (e.healthUp ? "\"up\"" : "\"down\"")
        << ",\"ejected\":" << (e.ejected ? "true" : "false")
        << ",\"breaker\":" << jsonString(e.breaker) << ",\"in_flight\":" << e.inFlight
        << ",\"requests\":" << e.requests << ",\"failures\":" << e.failures
        << ",\"connect_failures\":" << e.connectFailures << "}";
    first = false;
  }
  out << "\n]\n";
  return out.str();
}

std::string configJson(const Config& config) {
  std::ostringstream out;
  out << "{\"source\":" << jsonString(config.sourceFile) << ",\"workers\":" << config.workers
      << ",\"listeners\":[";
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    out << (i ? "," : "") << "{\"address\":" << jsonString(config.listeners[i].address)
        << ",\"port\":" << config.listeners[i].port << "}";
  }
  out << "],\"upstreams\":[";
  for (std::size_t i = 0; i < config.upstreams.size(); ++i) {
    const UpstreamConfig& u = config.upstreams[i];
    out << (i ? "," : "") << "{\"name\":" << jsonString(u.name)
        << ",\"algorithm\":" << jsonString(u.balancer.algorithm)
        << ",\"health_check\":" << (u.healthCheck ? "true" : "false")
        << ",\"breaker\":" << (u.breaker ? "true" : "false")
        << ",\"retry_attempts\":" << u.retry.attempts << ",\"backends\":[";
    for (std::size_t b = 0; b < u.backends.size(); ++b) {
      out << (b ? "," : "") << "{\"url\":" << jsonString(u.backends[b].url)
          << ",\"weight\":" << u.backends[b].weight << "}";
    }
    out << "]}";
  }
  out << "],\"routes\":[";
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    out << (i ? "," : "") << "{\"host\":" << jsonString(config.routes[i].host)
        << ",\"path\":" << jsonString(config.routes[i].pathPrefix)
        << ",\"upstream\":" << jsonString(config.routes[i].upstream) << "}";
  }
  out << "]";
  if (const CacheConfig& c = config.cache; c.enabled) {
    out << ",\"cache\":{\"max_size\":" << c.maxEntries << ",\"max_bytes\":" << c.maxBytes
        << ",\"max_body_bytes\":" << c.maxBodyBytes << ",\"policy\":" << jsonString(c.policy)
        << ",\"redis\":";
    if (c.redis) {
      out << jsonString(c.redis->host + ":" + std::to_string(c.redis->port));
    } else {
      out << "null";
    }
    out << "}";
  }
  if (config.rateLimit.enabled) {
    out << ",\"rate_limit\":{\"requests_per_second\":" << config.rateLimit.requestsPerSecond
        << ",\"burst\":" << config.rateLimit.burst
        << ",\"key\":" << jsonString(config.rateLimit.key) << ",\"redis\":";
    if (config.rateLimit.redis) {
      out << jsonString(config.rateLimit.redis->host + ":" +
                        std::to_string(config.rateLimit.redis->port));
    } else {
      out << "null";
    }
    out << "}";
  }
  out << "}\n";
  return out.str();
}

class AdminHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit AdminHandler(Server& server) : server_(server) {}

  // Poco::Net::HTTPRequestHandler
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string path = request.getURI();
    if (auto q = path.find('?'); q != std::string::npos) {
      path.resize(q);
    }
    std::string body;
    std::string type = "application/json";
    auto status = Poco::Net::HTTPResponse::HTTP_OK;
    if (path == "/healthz") {
      body = "ok\n";
      type = "text/plain";
    } else if (path == "/readyz") {
      MetricsSnapshot metrics = server_.metrics();
      bool ready = false;
      for (const auto& e : metrics.endpoints) {
        ready = ready || e.available;
      }
      body = ready ? "ready\n" : "no available backend\n";
      type = "text/plain";
      if (!ready) {
        status = Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
      }
    } else if (path == "/stats") {
      body = formatJson(server_.metrics());
    } else if (path == "/metrics") {
      body = formatPrometheus(server_.metrics());
      type = "text/plain; version=0.0.4";
    } else if (path == "/backends") {
      body = backendsJson(server_.metrics());
    } else if (path == "/config") {
      body = configJson(server_.config());
    } else if (path == "/cache/purge") {
      purge(request, status, body);
    } else {
      status = Poco::Net::HTTPResponse::HTTP_NOT_FOUND;
      body =
          "not found; try /healthz /readyz /stats /metrics /backends /config, POST "
          "/cache/purge?uri=|prefix=|tag=\n";
      type = "text/plain";
    }
    response.setStatus(status);
    response.setContentType(type);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }

 private:
  // POST (or PURGE) /cache/purge?uri=http://host/path | prefix=http://host/static/ | tag=name
  void purge(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPResponse::HTTPStatus& status,
             std::string& body) {
    using Poco::Net::HTTPResponse;
    if (request.getMethod() != "POST" && request.getMethod() != "PURGE") {
      status = HTTPResponse::HTTP_METHOD_NOT_ALLOWED;
      body = "{\"error\":\"use POST\"}\n";
      return;
    }
    Poco::URI::QueryParameters parameters;
    try {
      parameters = Poco::URI(request.getURI()).getQueryParameters();
    } catch (const Poco::Exception& e) {
      status = HTTPResponse::HTTP_BAD_REQUEST;
      body = "{\"error\":" + jsonString(e.displayText()) + "}\n";
      return;
    }
    if (parameters.size() != 1 ||
        (parameters[0].first != "uri" && parameters[0].first != "prefix" &&
         parameters[0].first != "tag")) {
      status = HTTPResponse::HTTP_BAD_REQUEST;
      body = "{\"error\":\"give one of uri=, prefix=, tag=\"}\n";
      return;
    }
    const auto& [kind, value] = parameters[0];
    const PurgeBy by = kind == "uri"      ? PurgeBy::kUri
                       : kind == "prefix" ? PurgeBy::kPrefix
                                          : PurgeBy::kTag;
    Result<std::size_t> purged = server_.purgeCache(by, value);
    if (!purged) {
      status = purged.error().code == ErrorCode::kSystem ? HTTPResponse::HTTP_SERVICE_UNAVAILABLE
               : server_.config().cache.enabled          ? HTTPResponse::HTTP_BAD_REQUEST
                                                         : HTTPResponse::HTTP_NOT_FOUND;
      body = "{\"error\":" + jsonString(purged.error().message) + "}\n";
      return;
    }
    body = "{\"purged\":" + std::to_string(purged.value()) + "}\n";
  }

  Server& server_;
};

class AdminFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit AdminFactory(Server& server) : server_(server) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new AdminHandler(server_);
  }

 private:
  Server& server_;
};

}  // namespace

AdminServer::AdminServer(Server& server) : server_(server) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::start(const std::string& address, std::uint16_t port, std::string& error) {
  try {
    Poco::Net::ServerSocket socket;
    // SO_REUSEPORT: a reloaded server binds the admin port while the old one still drains.
    socket.bind(Poco::Net::SocketAddress(address, port), true, true);
    socket.listen(64);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(true);
    http_ = std::make_unique<Poco::Net::HTTPServer>(new AdminFactory(server_), socket, params);
    http_->start();
    return true;
  } catch (const Poco::Exception& e) {
    error = address + ":" + std::to_string(port) + ": " + e.displayText();
    return false;
  }
}

void AdminServer::stop() {
  if (http_) {
    http_->stopAll(true);
    http_.reset();
  }
}

std::string formatJson(const MetricsSnapshot& m) {
  std::ostringstream out;
  out << "{\"version\":" << jsonString(kVersion) << ",\"connections\":{\"accepted\":" << m.accepted
      << ",\"refused\":" << m.refused << ",\"active\":" << m.activeConnections
      << "},\"requests\":{\"total\":" << m.requests << ",\"active\":" << m.activeRequests
      << ",\"responses\":{\"1xx\":" << m.responses[1] << ",\"2xx\":" << m.responses[2]
      << ",\"3xx\":" << m.responses[3] << ",\"4xx\":" << m.responses[4]
      << ",\"5xx\":" << m.responses[5] << ",\"aborted\":" << m.responses[0]
      << "},\"bad_requests\":" << m.badRequests << ",\"client_timeouts\":" << m.clientTimeouts
      << ",\"no_route\":" << m.noRoute << ",\"no_endpoint\":" << m.noEndpoint
      << ",\"retries\":" << m.retries << ",\"rate_limited\":" << m.rateLimited
      << ",\"rate_limited_dry_run\":" << m.rateLimitedDryRun
      << "},\"upstream\":{\"connects\":" << m.upstreamConnects << ",\"reuses\":" << m.upstreamReuses
      << ",\"connect_failures\":" << m.upstreamConnectFailures
      << ",\"timeouts\":" << m.upstreamTimeouts << ",\"resets\":" << m.upstreamResets
      << ",\"bad_responses\":" << m.upstreamBadResponses
      << "},\"bytes\":{\"from_clients\":" << m.bytesFromClients
      << ",\"to_clients\":" << m.bytesToClients << "}";
  if (m.cache.enabled) {
    const auto& c = m.cache;
    out << ",\"cache\":{\"hits\":" << c.hits << ",\"stale\":" << c.staleHits
        << ",\"misses\":" << c.misses << ",\"revalidated\":" << c.notModified
        << ",\"revalidations\":" << c.revalidations << ",\"coalesced\":" << c.coalesced
        << ",\"passes\":" << c.passes << ",\"stores\":" << c.stores
        << ",\"invalidations\":" << c.invalidations << ",\"store_errors\":" << c.storeErrors
        << ",\"entries\":" << c.entries << ",\"bytes\":" << c.bytes
        << ",\"evictions\":" << c.evictions << ",\"background_refreshes\":" << c.refreshes
        << ",\"background_refresh_failures\":" << c.refreshFailures;
    if (c.redisEnabled) {
      out << ",\"redis\":{\"lookups\":" << c.redisLookups << ",\"hits\":" << c.redisHits
          << ",\"errors\":" << c.redisErrors
          << ",\"degraded\":" << (c.redisDegraded ? "true" : "false") << "}";
    }
    out << "}";
  }
  out << ",\"backends\":" << backendsJson(m) << "}\n";
  return out.str();
}

std::string formatPrometheus(const MetricsSnapshot& m) {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, std::uint64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << value << "\n";
  };
  auto gauge = [&](const char* name, const char* help, std::int64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
        << name << " " << value << "\n";
  };
  counter("fairway_connections_accepted_total", "Client connections accepted.", m.accepted);
  counter("fairway_connections_refused_total", "Client connections refused at the limit.",
          m.refused);
  gauge("fairway_connections_active", "Open client connections.", m.activeConnections);
  counter("fairway_requests_total", "Requests whose head was parsed.", m.requests);
  gauge("fairway_requests_active", "Requests in flight.", m.activeRequests);
  counter("fairway_connections_idle_released_total",
          "Keep-alive connections that freed their buffers after timeouts.keep_alive_release idle.",
          m.idleReleases);
  out << "# HELP fairway_responses_total Responses by status class.\n"
         "# TYPE fairway_responses_total counter\n";
  const char* classes[] = {"aborted", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 6; ++i) {
    out << "fairway_responses_total{class=\"" << classes[i] << "\"} " << m.responses[i] << "\n";
  }
  counter("fairway_bad_requests_total", "Requests refused by the proxy (4xx it generated).",
          m.badRequests);
  counter("fairway_client_timeouts_total", "Client header, body, idle or send timeouts.",
          m.clientTimeouts);
  counter("fairway_no_route_total", "Requests with no matching route (404).", m.noRoute);
  counter("fairway_no_endpoint_total", "Requests with no available endpoint (503).", m.noEndpoint);
  counter("fairway_retries_total", "Upstream retries.", m.retries);
  counter("fairway_rate_limited_total", "Requests answered 429 by the rate limit.", m.rateLimited);
  counter("fairway_rate_limit_redis_calls_total", "Round trips to the shared limit's Redis.",
          m.rateLimitRedisCalls);
  counter("fairway_rate_limit_redis_errors_total",
          "Redis failures: timeouts, resets, error replies.", m.rateLimitRedisErrors);
  counter("fairway_rate_limit_degraded_total",
          "Decisions made by rate_limit.redis.fail_mode while Redis was unreachable.",
          m.rateLimitDegradedDecisions);
  counter("fairway_rate_limited_dry_run_total",
          "Requests over the rate limit let through (rate_limit.dry_run).", m.rateLimitedDryRun);
  counter("fairway_upstream_connects_total", "New upstream connections.", m.upstreamConnects);
  counter("fairway_upstream_reuses_total", "Requests sent on pooled connections.",
          m.upstreamReuses);
  counter("fairway_upstream_connect_failures_total", "Upstream connect failures.",
          m.upstreamConnectFailures);
  counter("fairway_upstream_timeouts_total", "Upstream connect or response timeouts.",
          m.upstreamTimeouts);
  counter("fairway_upstream_resets_total", "Upstream connections lost mid-exchange.",
          m.upstreamResets);
  counter("fairway_upstream_bad_responses_total", "Malformed upstream responses.",
          m.upstreamBadResponses);
  out << "# HELP fairway_upstream_responses_total Responses by upstream group and status class.\n"
         "# TYPE fairway_upstream_responses_total counter\n";
  for (const auto& u : m.upstreams) {
    for (int i = 0; i < 6; ++i) {
      out << "fairway_upstream_responses_total{upstream=\"" << u.name << "\",class=\"" << classes[i]
          << "\"} " << u.responses[i] << "\n";
    }
  }
  out << "# HELP fairway_route_responses_total Responses by route and status class.\n"
         "# TYPE fairway_route_responses_total counter\n";
  for (const auto& r : m.routes) {
    for (int i = 0; i < 6; ++i) {
      out << "fairway_route_responses_total{route=\"" << labelValue(r.name) << "\",upstream=\""
          << labelValue(r.upstream) << "\",class=\"" << classes[i] << "\"} " << r.responses[i]
          << "\n";
    }
  }
  // One histogram's series; `labels` is empty or `name="value"`.
  auto histogram = [&](const char* name, const std::string& labels,
                       const std::vector<std::uint64_t>& buckets, double sum) {
    const std::string prefix = labels.empty() ? "" : labels + ",";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      cumulative += buckets[b];
      out << name << "_bucket{" << prefix << "le=\"";
      if (b < m.latencyBounds.size()) {
        out << m.latencyBounds[b];
      } else {
        out << "+Inf";
      }
      out << "\"} " << cumulative << "\n";
    }
    const std::string braced = labels.empty() ? "" : "{" + labels + "}";
    out << name << "_sum" << braced << " " << sum << "\n"
        << name << "_count" << braced << " " << cumulative << "\n";
  };
  out << "# HELP fairway_request_duration_seconds From request head to complete response.\n"
         "# TYPE fairway_request_duration_seconds histogram\n";
  histogram("fairway_request_duration_seconds", "", m.latencyBuckets, m.latencySumSeconds);
  out << "# HELP fairway_upstream_header_duration_seconds From an upstream attempt's start "
         "(connect, or a pooled connection taken) to the backend's response head.\n"
         "# TYPE fairway_upstream_header_duration_seconds histogram\n";
  for (const auto& u : m.upstreams) {
    histogram("fairway_upstream_header_duration_seconds", "upstream=\"" + labelValue(u.name) + "\"",
              u.headerLatencyBuckets, u.headerLatencySumSeconds);
  }
  out << "# HELP fairway_backend_up Whether the balancer may pick the backend.\n"
         "# TYPE fairway_backend_up gauge\n";
  for (const auto& e : m.endpoints) {
    out << "fairway_backend_up{upstream=\"" << e.upstream << "\",backend=\"" << e.id << "\"} "
        << (e.available ? 1 : 0) << "\n";
  }
  out << "# HELP fairway_backend_requests_total Requests sent to the backend.\n"
         "# TYPE fairway_backend_requests_total counter\n";
  for (const auto& e : m.endpoints) {
    out << "fairway_backend_requests_total{upstream=\"" << e.upstream << "\",backend=\"" << e.id
        << "\"} " << e.requests << "\n";
  }
  out << "# HELP fairway_backend_in_flight Requests in flight to the backend.\n"
         "# TYPE fairway_backend_in_flight gauge\n";
  for (const auto& e : m.endpoints) {
    out << "fairway_backend_in_flight{upstream=\"" << e.upstream << "\",backend=\"" << e.id
        << "\"} " << e.inFlight << "\n";
  }
  if (m.cache.enabled) {
    const auto& c = m.cache;
    out << "# HELP fairway_cache_requests_total Requests by what the cache did: hit (fresh), "
           "stale (served stale), miss (fetched), revalidated (a 304 freshened the entry), "
           "coalesced (waited for another request's fetch), pass (not cacheable).\n"
           "# TYPE fairway_cache_requests_total counter\n";
    const std::pair<const char*, std::uint64_t> results[] = {{"hit", c.hits},
                                                             {"stale", c.staleHits},
                                                             {"miss", c.misses},
                                                             {"revalidated", c.notModified},
                                                             {"coalesced", c.coalesced},
                                                             {"pass", c.passes}};
    for (const auto& [result, value] : results) {
      out << "fairway_cache_requests_total{result=\"" << result << "\"} " << value << "\n";
    }
    counter("fairway_cache_revalidations_total",
            "Conditional requests sent to validate stored responses (foreground and background).",
            c.revalidations);
    counter("fairway_cache_stores_total", "Responses stored.", c.stores);
    counter("fairway_cache_invalidations_total",
            "Stored responses removed by unsafe requests (RFC 9111 section 4.4).", c.invalidations);
    counter("fairway_cache_store_errors_total", "Store calls that failed (counted as misses).",
            c.storeErrors);
    counter("fairway_cache_evictions_total", "Stored responses evicted from memory for room.",
            c.evictions);
    gauge("fairway_cache_entries", "Stored responses in memory.",
          static_cast<std::int64_t>(c.entries));
    gauge("fairway_cache_bytes", "Bytes of stored responses in memory.",
          static_cast<std::int64_t>(c.bytes));
    counter("fairway_cache_background_refreshes_total",
            "Background revalidations (stale-while-revalidate) sent.", c.refreshes);
    counter("fairway_cache_background_refresh_failures_total",
            "Background revalidations that got no usable response.", c.refreshFailures);
    if (c.redisEnabled) {
      counter("fairway_cache_redis_lookups_total", "Lookups in the Redis tier.", c.redisLookups);
      counter("fairway_cache_redis_hits_total", "Lookups the Redis tier answered.", c.redisHits);
      counter("fairway_cache_redis_errors_total", "Redis tier failures (timeouts, resets).",
              c.redisErrors);
      gauge("fairway_cache_redis_degraded",
            "1 while the Redis tier is skipped after a failure (cache.redis.retry_interval).",
            c.redisDegraded ? 1 : 0);
    }
  }
  out << "# HELP fairway_backend_breaker_open Whether the backend's breaker is open.\n"
         "# TYPE fairway_backend_breaker_open gauge\n";
  for (const auto& e : m.endpoints) {
    out << "fairway_backend_breaker_open{upstream=\"" << e.upstream << "\",backend=\"" << e.id
        << "\"} " << (e.breaker == "open" ? 1 : 0) << "\n";
  }
  return out.str();
}

}  // namespace fairway::proxy
