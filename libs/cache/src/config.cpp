#include <string>

#include <fairway/cache/config.hpp>
#include <fairway/cache/memory_store.hpp>

namespace fairway::cache {
namespace {

Error invalid(const std::string& field, const std::string& rule, const std::string& got) {
  return Error{ErrorCode::kInvalidArgument, "cache." + field + ": " + rule + " (got " + got + ")"};
}

std::string seconds(std::chrono::seconds s) {
  return std::to_string(s.count()) + "s";
}

}  // namespace

const std::vector<std::string>& policyNames() {
  static const std::vector<std::string> names = {"lru", "s3fifo"};
  return names;
}

Status validate(const Config& config) {
  if (config.maxSize < 1) {
    return invalid("max_size", "must be >= 1", std::to_string(config.maxSize));
  }
  if (config.maxObjectSize < 1) {
    return invalid("max_object_size", "must be >= 1", std::to_string(config.maxObjectSize));
  }
  if (config.maxBytes < config.maxObjectSize) {
    return invalid("max_bytes",
                   "must be >= max_object_size (" + std::to_string(config.maxObjectSize) + ")",
                   std::to_string(config.maxBytes));
  }
  if (config.ttl.count() < 0) {
    return invalid("ttl", "must be >= 0", seconds(config.ttl));
  }
  if (!(config.heuristicFraction > 0 && config.heuristicFraction <= 1)) {
    return invalid("heuristic_fraction", "must be in (0, 1]",
                   std::to_string(config.heuristicFraction));
  }
  if (config.heuristicMax.count() < 0) {
    return invalid("heuristic_max", "must be >= 0", seconds(config.heuristicMax));
  }
  bool known = false;
  std::string names;
  for (const std::string& name : policyNames()) {
    known = known || name == config.policy;
    names += (names.empty() ? "" : ", ") + name;
  }
  if (!known) {
    return Error{ErrorCode::kUnknownPolicy, "cache.policy: unknown eviction policy '" +
                                                config.policy + "' (known: " + names + ")"};
  }
  if (config.shards < 1 || config.shards > 1024 || (config.shards & (config.shards - 1)) != 0) {
    return invalid("shards", "must be a power of two in [1, 1024]", std::to_string(config.shards));
  }
  if (config.maxVariants < 1 || config.maxVariants > 1024) {
    return invalid("max_variants", "must be in [1, 1024]", std::to_string(config.maxVariants));
  }
  if (config.coalesceTimeout.count() < 0) {
    return invalid("coalesce_timeout", "must be >= 0",
                   std::to_string(config.coalesceTimeout.count()) + "ms");
  }
  if (config.staleIfError.count() < 0) {
    return invalid("stale_if_error", "must be >= 0", seconds(config.staleIfError));
  }
  return {};
}

Result<std::unique_ptr<Store>> makeStore(const Config& config) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  MemoryStoreConfig memory;
  memory.maxEntries = static_cast<std::size_t>(config.maxSize);
  memory.maxBytes = static_cast<std::size_t>(config.maxBytes);
  memory.maxVariants = static_cast<std::size_t>(config.maxVariants);
  memory.policy = config.policy == "s3fifo" ? EvictionPolicy::kS3Fifo : EvictionPolicy::kLru;
  memory.hashSeed = config.hashSeed;
  // Each shard must hold the largest object: fewer shards when max_bytes is tight.
  std::size_t shards = static_cast<std::size_t>(config.shards);
  while (shards > 1 && static_cast<std::size_t>(config.maxBytes) / shards <
                           static_cast<std::size_t>(config.maxObjectSize)) {
    shards /= 2;
  }
  memory.shards = shards;
  return std::unique_ptr<Store>(std::make_unique<MemoryStore>(memory));
}

}  // namespace fairway::cache
