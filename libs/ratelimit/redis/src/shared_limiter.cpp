#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <Poco/Exception.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>
#include <Poco/Redis/Exception.h>
#include <Poco/Timespan.h>

#include <fairway/core/random.hpp>
#include <fairway/ratelimit/redis/shared_limiter.hpp>

namespace fairway::ratelimit::redis {
namespace {

// GCRA in Redis: KEYS[1] holds the theoretical arrival time (TAT) in microseconds of Redis's own
// clock. ARGV: emission interval (µs), burst, cost, tokens wanted (= cost, or a lease in batched
// mode). Grants min(wanted, room) tokens if at least `cost` fit, else none. Replies
// {granted, remaining, retry_after_us, reset_us}. One script = one atomic decision.
constexpr const char* kGcraScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local room = math.floor((tolerance - (tat - now)) / interval + 1e-9)
if room < cost then
  return {0, math.max(room, 0), math.ceil(tat + cost * interval - tolerance - now), math.ceil(tat - now)}
end
local granted = math.min(want, room)
local tat2 = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%.0f', tat2), 'PX', math.ceil((tat2 - now) / 1000) + 1)
return {granted, room - granted, 0, math.ceil(tat2 - now)}
)lua";

struct ScriptReply {
  std::int64_t granted;
  std::int64_t remaining;
  std::chrono::microseconds retryAfter;
  std::chrono::microseconds reset;
};

Error invalid(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message};
}

Status validateRedis(const RedisConfig& redis, const Config& limit) {
  if (redis.host.empty()) {
    return invalid("rate_limit.redis.host: must not be empty");
  }
  if (redis.port < 1 || redis.port > 65535) {
    return invalid("rate_limit.redis.port: must be in [1, 65535] (got " +
                   std::to_string(redis.port) + ")");
  }
  if (redis.connectTimeout.count() <= 0) {
    return invalid("rate_limit.redis.connect_timeout: must be positive");
  }
  if (redis.commandTimeout.count() <= 0) {
    return invalid("rate_limit.redis.command_timeout: must be positive");
  }
  if (redis.retryInterval.count() < 0) {
    return invalid("rate_limit.redis.retry_interval: must not be negative");
  }
  if (redis.connections < 1 || redis.connections > 256) {
    return invalid("rate_limit.redis.connections: must be in [1, 256] (got " +
                   std::to_string(redis.connections) + ")");
  }
  if (redis.mode == RedisConfig::Mode::kBatched &&
      (redis.batch < 1 || redis.batch > limit.rate.burst)) {
    return invalid(
        "rate_limit.redis.batch: must be in [1, burst = " + std::to_string(limit.rate.burst) +
        "] (got " + std::to_string(redis.batch) + ")");
  }
  if (redis.leaseTtl.count() <= 0) {
    return invalid("rate_limit.redis.lease_ttl: must be positive");
  }
  if (limit.algorithm != "token_bucket" && limit.algorithm != "gcra") {
    return invalid(
        "rate_limit.algorithm: the Redis-backed limiter implements token_bucket and gcra "
        "(got '" +
        limit.algorithm + "')");
  }
  return {};
}

}  // namespace

// One Redis connection, used by one thread at a time. Reconnects lazily, at most once per
// retryInterval after a failure.
struct SharedLimiter::Connection {
  std::mutex mutex;
  std::optional<Poco::Redis::Client> client;
  std::string sha;
  TimePoint retryAt{};
};

struct SharedLimiter::Lease {
  std::int64_t tokens = 0;
  TimePoint expires{};
};

// Batched mode: the tokens each key has leased and not yet spent, in a few locked shards.
struct SharedLimiter::LeaseTable {
  static constexpr std::size_t kShards = 16;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Lease> leases;
  };
  std::array<Shard, kShards> shards;
  std::size_t maxPerShard = 1;

  Shard& shardOf(std::string_view key) { return shards[core::hashKey(key) % kShards]; }
};

Result<std::unique_ptr<SharedLimiter>> SharedLimiter::make(const Config& limit,
                                                           const RedisConfig& redis) {
  if (Status s = validate(limit); !s) {
    return s.error();
  }
  if (Status s = validateRedis(redis, limit); !s) {
    return s.error();
  }
  std::unique_ptr<Limiter> local;
  if (redis.failMode == RedisConfig::FailMode::kLocal) {
    auto made = ratelimit::make(limit);
    if (!made) {
      return made.error();
    }
    local = std::move(made).value();
  }
  return std::unique_ptr<SharedLimiter>(new SharedLimiter(limit, redis, std::move(local)));
}

SharedLimiter::SharedLimiter(const Config& limit, const RedisConfig& redis,
                             std::unique_ptr<Limiter> local)
    : limit_(limit),
      redis_(redis),
      local_(std::move(local)),
      leases_(std::make_unique<LeaseTable>()) {
  for (std::size_t i = 0; i < redis_.connections; ++i) {
    connections_.push_back(std::make_unique<Connection>());
  }
  leases_->maxPerShard = std::max<std::size_t>(1, limit_.maxKeys / LeaseTable::kShards);
}

SharedLimiter::~SharedLimiter() = default;

namespace {

// Runs the script on `c`, connecting first if needed. Empty when Redis is unreachable, slow or
// answers with an error: the connection is then dropped and left alone until `retryAt`.
std::optional<ScriptReply> runScript(std::optional<Poco::Redis::Client>& client, std::string& sha,
                                     TimePoint& retryAt, const RedisConfig& redis,
                                     const Config& limit, const std::string& key, std::int64_t cost,
                                     std::int64_t want, TimePoint now) {
  const auto fail = [&] {
    client.reset();
    retryAt = now + redis.retryInterval;
    return std::nullopt;
  };
  try {
    if (!client) {
      if (now < retryAt) {
        return std::nullopt;
      }
      client.emplace();
      client->connect(
          redis.host, redis.port,
          Poco::Timespan(
              std::chrono::duration_cast<std::chrono::microseconds>(redis.connectTimeout).count()));
      client->setReceiveTimeout(Poco::Timespan(
          std::chrono::duration_cast<std::chrono::microseconds>(redis.commandTimeout).count()));
      Poco::Redis::Command load("SCRIPT");
      load << "LOAD" << kGcraScript;
      sha = client->execute<Poco::Redis::BulkString>(load).value();
    }
    const double intervalUs = 1e6 / limit.rate.requestsPerSecond;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Poco::Redis::Command eval("EVALSHA");
      eval << sha << "1" << key << std::to_string(intervalUs) << std::to_string(limit.rate.burst)
           << std::to_string(cost) << std::to_string(want);
      try {
        const auto reply = client->execute<Poco::Redis::Array>(eval);
        if (reply.size() != 4) {
          return fail();
        }
        return ScriptReply{reply.get<Poco::Int64>(0), reply.get<Poco::Int64>(1),
                           std::chrono::microseconds(reply.get<Poco::Int64>(2)),
                           std::chrono::microseconds(reply.get<Poco::Int64>(3))};
      } catch (const Poco::Redis::RedisException& e) {
        // A restarted or flushed Redis forgot the script: load it again, once.
        if (attempt == 0 && e.message().find("NOSCRIPT") != std::string::npos) {
          Poco::Redis::Command load("SCRIPT");
          load << "LOAD" << kGcraScript;
          sha = client->execute<Poco::Redis::BulkString>(load).value();
          continue;
        }
        return fail();
      }
    }
    return fail();
  } catch (const Poco::Exception&) {
    return fail();
  } catch (const std::exception&) {
    return fail();
  }
}

}  // namespace

Decision SharedLimiter::tryAcquire(std::string_view key, std::int64_t cost, TimePoint now) {
  const std::int64_t burst = limit_.rate.burst;
  if (cost > burst) {
    return Decision{false, burst, 0, {}, {}};  // can never pass: no round trip (callers send 413)
  }
  const bool batched = redis_.mode == RedisConfig::Mode::kBatched;
  std::string keyString(key);
  if (batched) {
    auto& shard = leases_->shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.leases.find(keyString);
    if (it != shard.leases.end() && it->second.expires > now && it->second.tokens >= cost) {
      it->second.tokens -= cost;
      localDecisions_.fetch_add(1, std::memory_order_relaxed);
      return Decision{true, burst, it->second.tokens, {}, {}};
    }
  }

  Connection& c = *connections_[core::hashKey(key) % connections_.size()];
  std::optional<ScriptReply> reply;
  {
    std::lock_guard lock(c.mutex);
    redisCalls_.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t want = batched ? std::clamp(redis_.batch, cost, burst) : cost;
    reply = runScript(c.client, c.sha, c.retryAt, redis_, limit_, redis_.keyPrefix + keyString,
                      cost, want, now);
  }
  if (!reply) {
    redisErrors_.fetch_add(1, std::memory_order_relaxed);
    degraded_.store(true, std::memory_order_relaxed);
    return degradedDecision(key, cost, now);
  }
  degraded_.store(false, std::memory_order_relaxed);
  Decision decision{reply->granted > 0, burst, reply->remaining, reply->retryAfter, reply->reset};
  if (batched && reply->granted > cost) {
    auto& shard = leases_->shardOf(key);
    std::lock_guard lock(shard.mutex);
    if (shard.leases.size() >= leases_->maxPerShard) {
      std::erase_if(shard.leases, [now](const auto& entry) { return entry.second.expires <= now; });
      if (shard.leases.size() >= leases_->maxPerShard) {
        shard.leases.erase(shard.leases.begin());
      }
    }
    Lease& lease = shard.leases[keyString];
    if (lease.expires <= now) {
      lease.tokens = 0;
    }
    lease.tokens += reply->granted - cost;
    lease.expires = now + redis_.leaseTtl;
    decision.remaining += lease.tokens;
  }
  return decision;
}

Decision SharedLimiter::degradedDecision(std::string_view key, std::int64_t cost, TimePoint now) {
  degradedDecisions_.fetch_add(1, std::memory_order_relaxed);
  switch (redis_.failMode) {
    case RedisConfig::FailMode::kOpen:
      return Decision{true, limit_.rate.burst, limit_.rate.burst, {}, {}};
    case RedisConfig::FailMode::kClosed:
      return Decision{false, limit_.rate.burst, 0, redis_.retryInterval, redis_.retryInterval};
    case RedisConfig::FailMode::kLocal:
      return local_->tryAcquire(key, cost, now);
  }
  return Decision{};
}

std::size_t SharedLimiter::size() const {
  std::size_t total = 0;
  for (auto& shard : leases_->shards) {
    std::lock_guard lock(shard.mutex);
    total += shard.leases.size();
  }
  return total;
}

SharedLimiterStats SharedLimiter::stats() const {
  return SharedLimiterStats{redisCalls_.load(), redisErrors_.load(), degradedDecisions_.load(),
                            localDecisions_.load()};
}

}  // namespace fairway::ratelimit::redis
