#include "cache_service.hpp"

#include <istream>
#include <random>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <fairway/cache/memory_store.hpp>
#include <fairway/cache/redis/tiered_store.hpp>

#include "http.hpp"

namespace fairway::proxy {

namespace {

template <typename To>
To cast(Duration d) {
  return std::chrono::duration_cast<To>(d);
}

Poco::Timespan timespan(Duration d) {
  return Poco::Timespan(cast<std::chrono::microseconds>(d).count());
}

// What a cached or revalidating response keeps of an upstream field.
bool storedField(std::string_view name) {
  return !isHopByHop(name) && !equalsIgnoreCase(name, "content-length");
}

}  // namespace

std::string cacheKey(std::string_view host, std::string_view target) {
  std::string_view authority = host;
  std::string_view rest = target;
  if (target.size() >= 7 && equalsIgnoreCase(target.substr(0, 7), "http://")) {
    const std::size_t slash = target.find('/', 7);
    authority = target.substr(7, slash == std::string_view::npos ? slash : slash - 7);
    rest = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (authority.ends_with(":80")) {
    authority.remove_suffix(3);
  }
  std::string key = "http://" + cache::toLower(authority);
  key.append(rest);
  return key;
}

std::optional<std::string> absoluteCacheKey(std::string_view uri) {
  if (uri.size() <= 7 || !equalsIgnoreCase(uri.substr(0, 7), "http://")) {
    return std::nullopt;
  }
  return cacheKey({}, uri);
}

std::string normalizeKeyPrefix(std::string_view prefix) {
  const std::size_t scheme = prefix.find("://");
  const std::size_t end =
      scheme == std::string_view::npos ? 0 : std::min(prefix.size(), prefix.find('/', scheme + 3));
  return cache::toLower(prefix.substr(0, end)) + std::string(prefix.substr(end));
}

cache::Config libraryCacheConfig(const CacheConfig& c, std::uint64_t hashSeed) {
  cache::Config l;
  l.maxSize = static_cast<std::int64_t>(c.maxEntries);
  l.maxObjectSize = static_cast<std::int64_t>(c.maxBodyBytes);
  l.maxBytes = static_cast<std::int64_t>(c.maxBytes);
  if (c.ttl) {
    l.ttl = cast<std::chrono::seconds>(*c.ttl);
  }
  l.ttlOverride = c.ttlOverride;
  l.policy = c.policy;
  l.coalesceTimeout = cast<std::chrono::milliseconds>(c.coalesceTimeout);
  l.staleIfError = cast<std::chrono::seconds>(c.staleIfError);
  l.tagHeader = c.tagHeader;
  l.storeSetCookie = c.storeSetCookie;
  l.hashSeed = hashSeed;
  return l;
}

std::unique_ptr<CacheService> CacheService::make(const CacheConfig& config, std::string& error) {
  // A seed per process: clients cannot aim colliding URIs at one shard slot.
  const cache::Config library = libraryCacheConfig(config, std::random_device{}());
  auto memory = cache::makeStore(library);
  if (!memory) {
    error = "cache: " + memory.error().message;
    return nullptr;
  }
  std::shared_ptr<cache::Store> store = std::move(memory).value();
  std::shared_ptr<cache::Store> first = store;
  std::shared_ptr<cache::redis::RedisStore> redis;
  if (const auto& r = config.redis) {
    cache::redis::RedisStoreConfig rc;
    rc.host = r->host;
    rc.port = r->port;
    rc.connectTimeout = cast<std::chrono::milliseconds>(r->connectTimeout);
    rc.commandTimeout = cast<std::chrono::milliseconds>(r->commandTimeout);
    rc.retryInterval = cast<std::chrono::milliseconds>(r->retryInterval);
    rc.keyPrefix = r->keyPrefix;
    rc.connections = static_cast<std::size_t>(r->connections);
    rc.maxObjectSize = config.maxBodyBytes + 64 * 1024;  // the body and a head
    rc.freshness = library;
    rc.revalidationGrace = cast<std::chrono::seconds>(r->revalidationGrace);
    rc.maxTtl = std::max(std::chrono::seconds(1), cast<std::chrono::seconds>(r->maxTtl));
    auto made = cache::redis::RedisStore::make(rc);
    if (!made) {
      error = made.error().message;
      return nullptr;
    }
    redis = std::move(made).value();
    store = std::make_shared<cache::redis::TieredStore>(first, redis);
  }
  auto cache = cache::make(library, store);
  if (!cache) {
    error = "cache: " + cache.error().message;
    return nullptr;
  }
  return std::unique_ptr<CacheService>(
      new CacheService(config, std::move(first), std::move(redis), std::move(cache).value()));
}

CacheService::CacheService(const CacheConfig& config, std::shared_ptr<cache::Store> memory,
                           std::shared_ptr<cache::redis::RedisStore> redis,
                           std::unique_ptr<cache::Cache> cache)
    : config_(config),
      memory_(std::move(memory)),
      redis_(std::move(redis)),
      cache_(std::move(cache)),
      blocking_(cache_->store().mayBlock()),
      jobs_(config.threads) {}

bool CacheService::adoptStorage(const CacheService& previous) {
  CacheConfig mine = config_;
  mine.threads = previous.config_.threads;  // the one key that does not touch what is stored
  if (!(mine == previous.config_)) {
    return false;
  }
  memory_ = previous.memory_;
  redis_ = previous.redis_;
  cache_ = previous.cache_;
  blocking_ = previous.blocking_;
  return true;
}

cache::Instant CacheService::now() {
  return {core::Clock::now(), std::chrono::system_clock::now()};
}

void CacheService::refresh(std::shared_ptr<cache::Lookup> lookup,
                           std::shared_ptr<const cache::Request> request, RefreshTarget target) {
  refreshes_.fetch_add(1, std::memory_order_relaxed);
  jobs_.submit([this, lookup = std::move(lookup), request = std::move(request),
                target = std::move(target)] { runRefresh(*lookup, *request, target); });
}

void CacheService::runRefresh(cache::Lookup& lookup, const cache::Request& request,
                              const RefreshTarget& target) {
  const cache::SystemTime sentAt = std::chrono::system_clock::now();
  try {
    std::string host = target.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);  // an IPv6 literal, as the URL wrote it
    }
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(target.port));
    session.setTimeout(timespan(target.connectTimeout), timespan(target.responseTimeout),
                       timespan(target.responseTimeout));
    Poco::Net::HTTPRequest out(Poco::Net::HTTPRequest::HTTP_GET, target.target,
                               Poco::Net::HTTPMessage::HTTP_1_1);
    for (const cache::Field& field : lookup.upstream.headers) {
      if (storedField(field.name) && !equalsIgnoreCase(field.name, "host") &&
          !equalsIgnoreCase(field.name, "expect")) {
        out.add(field.name, field.value);
      }
    }
    out.setHost(target.hostHeader);
    out.add("Via", "1.1 fairway");
    out.setKeepAlive(false);
    session.sendRequest(out);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string body;
    const std::size_t limit = config_.maxBodyBytes;
    char chunk[16 * 1024];
    while (in && body.size() <= limit) {
      in.read(chunk, sizeof chunk);
      body.append(chunk, static_cast<std::size_t>(in.gcount()));
    }
    if (body.size() > limit) {
      refreshFailures_.fetch_add(1, std::memory_order_relaxed);
      return;  // too large to store: the Lookup goes, and with it the duty to publish
    }
    cache::Response fetched;
    fetched.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) {
      if (storedField(name)) {
        fetched.headers.add(name, value);
      }
    }
    fetched.body = cache::makeBody(std::move(body));
    cache_->complete(lookup, request, std::move(fetched), sentAt, now());
  } catch (const Poco::Exception&) {
    refreshFailures_.fetch_add(1, std::memory_order_relaxed);
    cache_->fail(lookup, request, now());
  } catch (const std::exception&) {
    refreshFailures_.fetch_add(1, std::memory_order_relaxed);
    cache_->fail(lookup, request, now());
  }
}

CacheService::Stats CacheService::stats() const {
  Stats s;
  s.cache = cache_->stats();
  s.memory = memory_->stats();
  if (redis_) {
    s.redis = redis_->stats();
    s.redisDegraded = redis_->degraded();
  }
  s.refreshes = refreshes_.load(std::memory_order_relaxed);
  s.refreshFailures = refreshFailures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace fairway::proxy
