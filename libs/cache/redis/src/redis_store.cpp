#include <algorithm>
#include <cassert>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <Poco/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Error.h>
#include <Poco/Redis/RedisStream.h>
#include <Poco/Redis/Type.h>
#include <Poco/SHA1Engine.h>
#include <Poco/Timespan.h>

#include <fairway/cache/memory_store.hpp>
#include <fairway/cache/redis/redis_store.hpp>
#include <fairway/core/random.hpp>

namespace fairway::cache::redis {
namespace {

using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::RedisType;
using Replies = std::vector<RedisType::Ptr>;

// Data layout (README.md): per URI a hash <prefix>e:<uri> with, per variant, "v:<secondary key>" =
// encodeEntry() bytes and "m:<secondary key>" = metadata "<response time, ms since the epoch>"
// followed by "|<length>:<tag>" per tag; per tag a set <prefix>t:<tag> of "<length of uri>:<uri>
// <secondary key>" members. The scripts keep the tag sets in step with the hashes (a replaced,
// dropped or erased variant leaves the sets its metadata names), treat what they read as untrusted
// (a key of another type is deleted, metadata that does not parse names no tags) and only ever move
// forward through a string, so no stored value can make them loop.
constexpr const char* kHelpers = R"lua(
local function typeOf(k) return redis.call('TYPE', k).ok end
local function tagsOf(meta)
  local tags = {}
  local i = string.find(meta, '|', 1, true)
  while i do
    local c = string.find(meta, ':', i + 1, true)
    if not c then break end
    local n = tonumber(string.sub(meta, i + 1, c - 1))
    if not n or n < 0 or n ~= math.floor(n) then break end
    tags[#tags + 1] = string.sub(meta, c + 1, c + n)
    i = c + n + 1
    if string.sub(meta, i, i) ~= '|' then break end
  end
  return tags
end
local function member(key, sk) return string.len(key) .. ':' .. key .. sk end
local function unindex(tp, hkey, key, sk)
  local meta = redis.call('HGET', hkey, 'm:' .. sk)
  if not meta then return end
  for _, t in ipairs(tagsOf(meta)) do
    if typeOf(tp .. t) == 'set' then redis.call('SREM', tp .. t, member(key, sk)) end
  end
end
)lua";

// KEYS: hash. ARGV: uri, secondary key, bytes, metadata, ttl (ms), max variants, tag prefix,
// tags... Replaces the variant, indexes its tags, drops the oldest variants above the limit and
// extends (never shortens) the expiry of the hash and the tag sets. Returns the variants dropped.
constexpr const char* kInsert = R"lua(
local hkey, key, sk, tp = KEYS[1], ARGV[1], ARGV[2], ARGV[7]
local ttl, maxv = tonumber(ARGV[5]), tonumber(ARGV[6])
local ty = typeOf(hkey)
if ty ~= 'hash' and ty ~= 'none' then redis.call('DEL', hkey) end
unindex(tp, hkey, key, sk)
redis.call('HSET', hkey, 'v:' .. sk, ARGV[3], 'm:' .. sk, ARGV[4])
local mem = member(key, sk)
for i = 8, #ARGV do
  local tkey = tp .. ARGV[i]
  local tty = typeOf(tkey)
  if tty ~= 'set' and tty ~= 'none' then redis.call('DEL', tkey) end
  redis.call('SADD', tkey, mem)
  if redis.call('PTTL', tkey) < ttl then redis.call('PEXPIRE', tkey, ttl) end
end
local variants = {}
for _, f in ipairs(redis.call('HKEYS', hkey)) do
  if string.sub(f, 1, 2) == 'm:' then
    local at = tonumber(string.match(redis.call('HGET', hkey, f), '^%-?%d+')) or 0
    variants[#variants + 1] = {string.sub(f, 3), at}
  end
end
local dropped = 0
while #variants > maxv do
  local oldest = 1
  for i = 2, #variants do
    if variants[i][2] < variants[oldest][2] then oldest = i end
  end
  local victim = variants[oldest][1]
  unindex(tp, hkey, key, victim)
  redis.call('HDEL', hkey, 'v:' .. victim, 'm:' .. victim)
  table.remove(variants, oldest)
  dropped = dropped + 1
end
if redis.call('PTTL', hkey) < ttl then redis.call('PEXPIRE', hkey, ttl) end
return dropped
)lua";

// KEYS: hash. ARGV: uri, tag prefix. Deletes every variant (and their tag memberships); returns
// how many there were.
constexpr const char* kErase = R"lua(
local hkey, key, tp = KEYS[1], ARGV[1], ARGV[2]
if typeOf(hkey) ~= 'hash' then redis.call('DEL', hkey) return 0 end
local n = 0
for _, f in ipairs(redis.call('HKEYS', hkey)) do
  local kind = string.sub(f, 1, 2)
  if kind == 'm:' then unindex(tp, hkey, key, string.sub(f, 3))
  elseif kind == 'v:' then n = n + 1 end
end
redis.call('DEL', hkey)
return n
)lua";

// KEYS: tag set. ARGV: entry prefix, tag prefix, tag. Deletes the variants the set lists whose
// metadata still names the tag (a member can outlive its variant: expiry), then the set.
constexpr const char* kPurgeTag = R"lua(
local tkey, ep, tp, tag = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if typeOf(tkey) ~= 'set' then redis.call('DEL', tkey) return 0 end
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', tkey)) do
  local c = string.find(m, ':', 1, true)
  local len = c and tonumber(string.sub(m, 1, c - 1))
  if len and len >= 0 then
    local key = string.sub(m, c + 1, c + len)
    local sk = string.sub(m, c + len + 1)
    local hkey = ep .. key
    if typeOf(hkey) == 'hash' then
      local meta = redis.call('HGET', hkey, 'm:' .. sk)
      local tagged = false
      if meta then
        for _, t in ipairs(tagsOf(meta)) do if t == tag then tagged = true end end
      end
      if tagged then
        unindex(tp, hkey, key, sk)
        n = n + redis.call('HDEL', hkey, 'v:' .. sk)
        redis.call('HDEL', hkey, 'm:' .. sk)
      end
    end
  end
end
redis.call('DEL', tkey)
return n
)lua";

struct Script {
  std::string text;
  std::string sha;  // what SCRIPT LOAD answers: SHA-1 of the text, lower-case hex

  explicit Script(const char* body) : text(std::string(kHelpers) + body) {
    Poco::SHA1Engine engine;
    engine.update(text);
    sha = Poco::DigestEngine::digestToHex(engine.digest());
  }
};

const Script& insertScript() {
  static const Script script(kInsert);
  return script;
}
const Script& eraseScript() {
  static const Script script(kErase);
  return script;
}
const Script& purgeTagScript() {
  static const Script script(kPurgeTag);
  return script;
}
constexpr std::size_t kScripts = 3;

std::vector<Array> scriptLoads() {
  std::vector<Array> loads;
  for (const Script* s : {&insertScript(), &eraseScript(), &purgeTagScript()}) {
    Array load;
    load << "SCRIPT"
         << "LOAD" << s->text;
    loads.push_back(std::move(load));
  }
  return loads;
}

Poco::Timespan timespanOf(std::chrono::milliseconds d) {
  return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

template <typename T>
const T* valueOf(const RedisType::Ptr& reply) {
  const auto* typed = dynamic_cast<const Poco::Redis::Type<T>*>(reply.get());
  return typed != nullptr ? &typed->value() : nullptr;
}

std::optional<std::string> errorOf(const RedisType::Ptr& reply) {
  if (const auto* e = valueOf<Poco::Redis::Error>(reply)) {
    return e->getMessage();
  }
  return std::nullopt;
}

bool isWrongType(const RedisType::Ptr& reply) {
  const auto e = errorOf(reply);
  return e && e->starts_with("WRONGTYPE");
}

std::optional<std::int64_t> integerOf(const RedisType::Ptr& reply) {
  if (const auto* i = valueOf<Poco::Int64>(reply)) {
    return *i;
  }
  return std::nullopt;
}

const std::string* bulkOf(const RedisType::Ptr& reply) {
  const auto* b = valueOf<BulkString>(reply);
  return b != nullptr && !b->isNull() ? &b->value() : nullptr;
}

// An array reply's elements, or nullopt when `reply` is not an array. POCO reads an empty array
// ("*0") as a null one, so null is empty here.
std::optional<std::vector<RedisType::Ptr>> elementsOf(const RedisType::Ptr& reply) {
  const auto* a = valueOf<Array>(reply);
  if (a == nullptr) {
    return std::nullopt;
  }
  if (a->isNull()) {
    return std::vector<RedisType::Ptr>();
  }
  return std::vector<RedisType::Ptr>(a->begin(), a->end());
}

// SCAN MATCH patterns are globs: `*`, `?`, `[`, `]` and `\` in a literal prefix are escaped.
std::string globEscape(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() + 8);
  for (const char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

Error invalid(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message};
}

Status validateConfig(const RedisStoreConfig& c) {
  const auto range = [](const char* field, std::int64_t value, std::int64_t lo, std::int64_t hi) {
    return invalid(std::string("cache.redis.") + field + ": must be in [" + std::to_string(lo) +
                   ", " + std::to_string(hi) + "] (got " + std::to_string(value) + ")");
  };
  if (c.host.empty()) {
    return invalid("cache.redis.host: must not be empty");
  }
  if (c.port < 1 || c.port > 65535) {
    return range("port", c.port, 1, 65535);
  }
  if (c.connectTimeout.count() <= 0) {
    return invalid("cache.redis.connect_timeout: must be positive (got " +
                   std::to_string(c.connectTimeout.count()) + " ms)");
  }
  if (c.commandTimeout.count() <= 0) {
    return invalid("cache.redis.command_timeout: must be positive (got " +
                   std::to_string(c.commandTimeout.count()) + " ms)");
  }
  if (c.retryInterval.count() < 0) {
    return invalid("cache.redis.retry_interval: must not be negative (got " +
                   std::to_string(c.retryInterval.count()) + " ms)");
  }
  if (c.keyPrefix.empty()) {
    return invalid("cache.redis.key_prefix: must not be empty");
  }
  if (c.connections < 1 || c.connections > 256) {
    return range("connections", static_cast<std::int64_t>(c.connections), 1, 256);
  }
  if (c.maxObjectSize < 1) {
    return invalid("cache.redis.max_object_size: must be >= 1 (got 0)");
  }
  if (c.maxVariants < 1 || c.maxVariants > 1024) {
    return range("max_variants", static_cast<std::int64_t>(c.maxVariants), 1, 1024);
  }
  if (c.revalidationGrace.count() < 0) {
    return invalid("cache.redis.revalidation_grace: must not be negative (got " +
                   std::to_string(c.revalidationGrace.count()) + " s)");
  }
  if (c.maxTtl.count() < 1) {
    return invalid("cache.redis.max_ttl: must be >= 1 s (got " + std::to_string(c.maxTtl.count()) +
                   " s)");
  }
  if (!c.clock) {
    return invalid("cache.redis.clock: must be set");
  }
  return validate(c.freshness);
}

}  // namespace

// One connection to Redis, used by one call at a time: a socket with both a receive and a send
// timeout (POCO's Redis::Client sets only the first, so a large value written to a hung Redis
// would block in send() once the socket buffers fill), and POCO Redis' protocol types on top.
class RedisStore::Connection {
 public:
  ~Connection() { drop(); }

  // Sends `commands` as one pipeline, connecting first if needed, and returns one reply per
  // command. nullopt (with `why`) when the store is down, on any transport or protocol failure,
  // and on an error reply other than WRONGTYPE (left to the caller): then the store is marked
  // down and this connection dropped.
  std::optional<Replies> run(RedisStore& store, const std::vector<Array>& commands,
                             std::string& why) {
    std::lock_guard lock(mutex_);
    // Checked again under the lock: calls queued behind a failing one fail at once.
    if (store.degraded()) {
      why = "marked down after a failure; retrying after the retry interval";
      return std::nullopt;
    }
    const std::uint64_t epoch = store.epoch_.load();
    if (socket_ && epoch_ != epoch) {
      drop();
    }
    try {
      bool fresh = false;
      if (!socket_) {
        connect(store.config_);
        epoch_ = epoch;
        fresh = true;
      }
      // A fresh connection loads the scripts in the same round trip.
      std::optional<Replies> replies = fresh ? loadThen(commands, why) : send(commands);
      if (replies) {
        const bool noScript = std::any_of(replies->begin(), replies->end(), [](const auto& r) {
          const auto e = errorOf(r);
          return e && e->starts_with("NOSCRIPT");
        });
        if (noScript) {  // SCRIPT FLUSH since we connected: none of ours ran; load, run again
          replies = loadThen(commands, why);
        }
      }
      if (replies) {
        for (const RedisType::Ptr& r : *replies) {
          if (const auto e = errorOf(r); e && !isWrongType(r)) {
            why = "error reply: " + *e;
            replies.reset();
            break;
          }
        }
      }
      if (replies) {
        return replies;
      }
    } catch (const Poco::Exception& e) {
      why = e.displayText();
    } catch (const std::exception& e) {
      why = e.what();
    }
    drop();
    store.markDown();
    return std::nullopt;
  }

 private:
  void connect(const RedisStoreConfig& config) {
    const Poco::Net::SocketAddress address(config.host, static_cast<Poco::UInt16>(config.port));
    socket_.emplace();
    socket_->connect(address, timespanOf(config.connectTimeout));
    socket_->setReceiveTimeout(timespanOf(config.commandTimeout));
    socket_->setSendTimeout(timespanOf(config.commandTimeout));
    socket_->setNoDelay(true);
    in_ = std::make_unique<Poco::Redis::RedisInputStream>(*socket_);
    out_ = std::make_unique<Poco::Redis::RedisOutputStream>(*socket_);
  }

  void drop() {
    if (socket_) {
      try {
        socket_->close();  // first, so that the streams have nothing left to flush into
      } catch (...) {      // NOLINT: closing a broken socket may complain; it is closed anyway
      }
    }
    out_.reset();
    in_.reset();
    socket_.reset();
  }

  // SCRIPT LOAD ×3, then `commands`: the commands' replies, or nullopt when a load failed.
  std::optional<Replies> loadThen(const std::vector<Array>& commands, std::string& why) {
    std::vector<Array> all = scriptLoads();
    all.insert(all.end(), commands.begin(), commands.end());
    Replies replies = send(all);
    const Script* scripts[kScripts] = {&insertScript(), &eraseScript(), &purgeTagScript()};
    for (std::size_t i = 0; i < kScripts; ++i) {
      const std::string* sha = bulkOf(replies[i]);
      if (sha == nullptr || *sha != scripts[i]->sha) {
        const auto e = errorOf(replies[i]);
        why = "SCRIPT LOAD failed: " + (e ? *e : std::string("unexpected reply"));
        return std::nullopt;
      }
    }
    replies.erase(replies.begin(), replies.begin() + kScripts);
    return replies;
  }

  // Writes the pipeline, reads one reply per command. Throws on a timeout, a closed connection
  // or bytes that are not RESP (POCO's parsers throw; a failed stream is checked after each read).
  Replies send(const std::vector<Array>& commands) {
    for (const Array& command : commands) {
      const std::string bytes = command.toString();
      out_->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    out_->flush();
    if (!out_->good()) {
      throw Poco::IOException("write to Redis failed or timed out");
    }
    Replies replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
      const int marker = in_->get();
      if (marker == std::char_traits<char>::eof() || !in_->good()) {
        throw Poco::IOException("no reply from Redis (closed or timed out)");
      }
      RedisType::Ptr reply = RedisType::createRedisType(static_cast<char>(marker));
      if (reply.isNull()) {
        throw Poco::DataFormatException("not a RESP reply");
      }
      reply->read(*in_);
      if (!in_->good()) {
        throw Poco::IOException("reply from Redis cut short (closed or timed out)");
      }
      replies.push_back(std::move(reply));
    }
    return replies;
  }

  std::mutex mutex_;
  // Declared before the streams, which refer to it: destroyed after them.
  std::optional<Poco::Net::StreamSocket> socket_;
  std::unique_ptr<Poco::Redis::RedisInputStream> in_;
  std::unique_ptr<Poco::Redis::RedisOutputStream> out_;
  std::uint64_t epoch_ = 0;
};

Result<std::unique_ptr<RedisStore>> RedisStore::make(const RedisStoreConfig& config) {
  if (Status s = validateConfig(config); !s) {
    return s.error();
  }
  return std::unique_ptr<RedisStore>(new RedisStore(config));
}

RedisStore::RedisStore(const RedisStoreConfig& config)
    : config_(config),
      policy_(config.freshness),
      entryPrefix_(config.keyPrefix + "e:"),
      tagPrefix_(config.keyPrefix + "t:"),
      downUntil_(std::numeric_limits<TimePoint::rep>::min()) {
  for (std::size_t i = 0; i < config_.connections; ++i) {
    connections_.push_back(std::make_unique<Connection>());
  }
}

RedisStore::~RedisStore() = default;

RedisStore::Connection& RedisStore::connectionFor(std::string_view key) const {
  return *connections_[core::hashKey(key) % connections_.size()];
}

bool RedisStore::degraded() const {
  return config_.clock().time_since_epoch().count() < downUntil_.load();
}

void RedisStore::markDown() {
  downUntil_.store((config_.clock() + config_.retryInterval).time_since_epoch().count());
  epoch_.fetch_add(1);
}

Error RedisStore::unavailable(std::string_view operation, std::string_view why) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  return Error{ErrorCode::kUnavailable, "cache.redis " + std::string(operation) + " (" +
                                            config_.host + ":" + std::to_string(config_.port) +
                                            "): " + std::string(why)};
}

std::chrono::milliseconds RedisStore::expiryOf(const Entry& entry) const {
  using std::chrono::seconds;
  // What is left of the freshness lifetime when the response arrived (RFC 9111 §4.2.1, §4.2.3).
  const seconds lifetime = policy_.freshnessLifetime(entry);
  const seconds age = Policy::currentAge(entry, entry.responseTime());
  seconds ttl = std::max(seconds(0), lifetime - age);
  // Then as long as it may still be served stale (RFC 5861; §4.2.4 for the configured allowance).
  const ResponseDirectives& d = entry.directives();
  if (!d.forbidsStale() && !d.noCache) {
    const std::int64_t stale =
        std::max({d.staleWhileRevalidate.value_or(0), d.staleIfError.value_or(0),
                  static_cast<std::int64_t>(config_.freshness.staleIfError.count())});
    ttl += seconds(stale);
  }
  if (entry.hasValidator()) {
    ttl += config_.revalidationGrace;
  }
  return std::clamp<std::chrono::milliseconds>(ttl, seconds(1), config_.maxTtl);
}

Result<VariantsPtr> RedisStore::lookup(std::string_view key) {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  if (degraded()) {
    return unavailable("lookup", "marked down after a failure; retrying after the retry interval");
  }
  const std::string hkey = entryPrefix_ + std::string(key);
  Array hgetall;
  hgetall << "HGETALL" << hkey;
  std::string why;
  Connection& connection = connectionFor(key);
  std::optional<Replies> replies = connection.run(*this, {hgetall}, why);
  if (!replies) {
    return unavailable("lookup", why);
  }
  const RedisType::Ptr& reply = replies->front();
  std::vector<Array> cleanup;
  Error corrupt{ErrorCode::kCorrupt, ""};
  auto variants = std::make_shared<Variants>();
  if (isWrongType(reply)) {
    Array del;
    del << "DEL" << hkey;
    cleanup.push_back(std::move(del));
    corrupt.message = "cache.redis lookup: key '" + hkey + "' is not a hash; deleted";
  } else {
    const auto fields = elementsOf(reply);
    if (!fields || fields->size() % 2 != 0) {
      markDown();
      return unavailable("lookup", "HGETALL answered something other than field-value pairs");
    }
    Array hdel;
    hdel << "HDEL" << hkey;
    for (std::size_t i = 0; i < fields->size(); i += 2) {
      const std::string* field = bulkOf((*fields)[i]);
      const std::string* value = bulkOf((*fields)[i + 1]);
      if (field == nullptr || value == nullptr) {
        markDown();
        return unavailable("lookup", "HGETALL answered something other than bulk strings");
      }
      if (!field->starts_with("v:")) {
        continue;
      }
      const std::string_view secondaryKey = std::string_view(*field).substr(2);
      Result<EntryPtr> decoded = decodeEntry(*value);
      if (decoded && decoded.value()->key() == key &&
          decoded.value()->secondaryKey() == secondaryKey) {
        variants->push_back(std::move(decoded).value());
        continue;
      }
      // Untrusted bytes: what does not decode, or decodes as another key's entry, goes.
      corrupt.message =
          "cache.redis lookup: variant '" + std::string(secondaryKey) + "' of '" +
          std::string(key) +
          "': " + (decoded ? std::string("stored under the wrong key") : decoded.error().message) +
          "; deleted";
      hdel << *field << "m:" + std::string(secondaryKey);
    }
    if (hdel.size() > 2) {
      cleanup.push_back(std::move(hdel));
    }
  }
  if (!cleanup.empty()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    std::string ignored;  // a failure here marks the store down; the lookup's answer stands
    (void)connection.run(*this, cleanup, ignored);
  }
  if (variants->empty()) {
    if (!cleanup.empty()) {
      return corrupt;
    }
    return VariantsPtr();
  }
  // Hash order is Redis's; oldest response first, as a memory store keeps them.
  std::stable_sort(variants->begin(), variants->end(), [](const EntryPtr& a, const EntryPtr& b) {
    return a->responseTime() < b->responseTime();
  });
  hits_.fetch_add(1, std::memory_order_relaxed);
  return VariantsPtr(std::move(variants));
}

Status RedisStore::insert(EntryPtr entry) {
  assert(entry != nullptr);
  std::string bytes = encodeEntry(*entry);
  if (bytes.size() > config_.maxObjectSize) {
    rejections_.fetch_add(1, std::memory_order_relaxed);
    return Error{ErrorCode::kTooLarge, "cache.redis insert: entry '" + entry->key() + "' is " +
                                           std::to_string(bytes.size()) +
                                           " bytes encoded, above max_object_size (" +
                                           std::to_string(config_.maxObjectSize) + ")"};
  }
  if (degraded()) {
    return unavailable("insert", "marked down after a failure; retrying after the retry interval");
  }
  const auto responseMs = std::chrono::duration_cast<std::chrono::milliseconds>(
      entry->responseTime().time_since_epoch());
  std::string meta = std::to_string(responseMs.count());
  for (const std::string& tag : entry->tags()) {
    meta += "|" + std::to_string(tag.size()) + ":" + tag;
  }
  Array eval;
  eval << "EVALSHA" << insertScript().sha << "1" << entryPrefix_ + entry->key() << entry->key()
       << entry->secondaryKey() << bytes << meta << std::to_string(expiryOf(*entry).count())
       << std::to_string(config_.maxVariants) << tagPrefix_;
  bytes.clear();
  bytes.shrink_to_fit();
  for (const std::string& tag : entry->tags()) {
    eval << tag;
  }
  std::string why;
  std::optional<Replies> replies = connectionFor(entry->key()).run(*this, {eval}, why);
  if (!replies) {
    return unavailable("insert", why);
  }
  const std::optional<std::int64_t> dropped = integerOf(replies->front());
  if (!dropped) {
    markDown();
    return unavailable("insert", "the insert script answered something other than an integer");
  }
  inserts_.fetch_add(1, std::memory_order_relaxed);
  evictions_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, *dropped)),
                       std::memory_order_relaxed);
  return {};
}

Result<std::size_t> RedisStore::erase(std::string_view key) {
  if (degraded()) {
    return unavailable("erase", "marked down after a failure; retrying after the retry interval");
  }
  Array eval;
  eval << "EVALSHA" << eraseScript().sha << "1" << entryPrefix_ + std::string(key)
       << std::string(key) << tagPrefix_;
  std::string why;
  std::optional<Replies> replies = connectionFor(key).run(*this, {eval}, why);
  if (!replies) {
    return unavailable("erase", why);
  }
  const std::optional<std::int64_t> erased = integerOf(replies->front());
  if (!erased) {
    markDown();
    return unavailable("erase", "the erase script answered something other than an integer");
  }
  return static_cast<std::size_t>(std::max<std::int64_t>(0, *erased));
}

Result<std::size_t> RedisStore::purgePrefix(std::string_view prefix) {
  if (degraded()) {
    return unavailable("purge_prefix",
                       "marked down after a failure; retrying after the retry interval");
  }
  const std::string pattern = globEscape(entryPrefix_ + std::string(prefix)) + "*";
  Connection& connection = connectionFor(prefix);
  std::size_t removed = 0;
  std::string cursor = "0";
  std::string why;
  do {
    Array scan;
    scan << "SCAN" << cursor << "MATCH" << pattern << "COUNT"
         << "1000";
    std::optional<Replies> replies = connection.run(*this, {scan}, why);
    if (!replies) {
      return unavailable("purge_prefix", why);
    }
    const auto page = elementsOf(replies->front());
    const std::string* next = page && page->size() == 2 ? bulkOf((*page)[0]) : nullptr;
    const auto keys = next != nullptr ? elementsOf((*page)[1]) : std::nullopt;
    if (!keys) {
      markDown();
      return unavailable("purge_prefix", "SCAN answered something other than [cursor, keys]");
    }
    std::vector<Array> erases;
    for (const RedisType::Ptr& k : *keys) {
      const std::string* hkey = bulkOf(k);
      if (hkey == nullptr || !hkey->starts_with(entryPrefix_)) {
        continue;
      }
      Array eval;
      eval << "EVALSHA" << eraseScript().sha << "1" << *hkey << hkey->substr(entryPrefix_.size())
           << tagPrefix_;
      erases.push_back(std::move(eval));
    }
    if (!erases.empty()) {
      std::optional<Replies> erased = connection.run(*this, erases, why);
      if (!erased) {
        return unavailable("purge_prefix", why);
      }
      for (const RedisType::Ptr& r : *erased) {
        removed += static_cast<std::size_t>(std::max<std::int64_t>(0, integerOf(r).value_or(0)));
      }
    }
    cursor = *next;
  } while (cursor != "0");
  return removed;
}

Result<std::size_t> RedisStore::purgeTag(std::string_view tag) {
  if (degraded()) {
    return unavailable("purge_tag",
                       "marked down after a failure; retrying after the retry interval");
  }
  Array eval;
  eval << "EVALSHA" << purgeTagScript().sha << "1" << tagPrefix_ + std::string(tag) << entryPrefix_
       << tagPrefix_ << std::string(tag);
  std::string why;
  std::optional<Replies> replies = connectionFor(tag).run(*this, {eval}, why);
  if (!replies) {
    return unavailable("purge_tag", why);
  }
  const std::optional<std::int64_t> purged = integerOf(replies->front());
  if (!purged) {
    markDown();
    return unavailable("purge_tag", "the purge script answered something other than an integer");
  }
  return static_cast<std::size_t>(std::max<std::int64_t>(0, *purged));
}

StoreStats RedisStore::stats() const {
  StoreStats s;
  s.lookups = lookups_.load(std::memory_order_relaxed);
  s.hits = hits_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.rejections = rejections_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace fairway::cache::redis
