#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fairway::cache {

// The `cache:` section. The original design's two keys keep their meaning — `max_size` bounds the
// number of stored responses, `ttl` is a default lifetime — and by default every decision is
// RFC 9111's: `ttl` only applies where the RFC allows heuristic freshness (§4.2.2), unless
// `ttlOverride` is set.
struct Config {
  // cache.max_size: stored responses (every Vary variant counts), >= 1.
  std::int64_t maxSize = 1000;
  // cache.max_bytes: bytes of stored responses (Entry::charge), >= max_object_size.
  std::int64_t maxBytes = 256LL << 20;
  // cache.max_object_size: a larger response is passed through, not stored; >= 1.
  std::int64_t maxObjectSize = 8LL << 20;
  // cache.ttl: heuristic freshness (RFC 9111 §4.2.2) for a heuristically cacheable response that
  // has no Last-Modified to compute one from; 0: such responses get none. >= 0.
  std::chrono::seconds ttl{0};
  // cache.ttl_override: off by default. When on, every storable response is fresh for exactly
  // `ttl`, whatever its max-age, s-maxage or Expires say (no-store, private, no-cache and
  // must-revalidate still hold). A deliberate departure from the RFC, for origins that send no or
  // wrong freshness information.
  bool ttlOverride = false;
  // cache.heuristic_fraction: heuristic lifetime = fraction × (Date − Last-Modified), in (0, 1].
  double heuristicFraction = 0.1;
  // cache.heuristic_max: cap on any heuristic lifetime, >= 0.
  std::chrono::seconds heuristicMax{86400};
  // cache.policy: eviction policy of the memory store: "lru" or "s3fifo".
  std::string policy = "lru";
  // cache.shards: memory store shards, a power of two in [1, 1024]; more shards, less contention,
  // each bounded by its share of max_size and max_bytes.
  std::int64_t shards = 16;
  // cache.max_variants: Vary variants kept per URI (the oldest goes first), in [1, 1024].
  std::int64_t maxVariants = 16;
  // cache.coalesce_timeout: how long a request waits for another one fetching the same URI before
  // it goes upstream itself; 0 disables request coalescing. >= 0.
  std::chrono::milliseconds coalesceTimeout{5000};
  // cache.tag_header: response field whose space-separated members tag the entry for purge
  // (Fastly's Surrogate-Key); empty: no tags.
  std::string tagHeader = "Surrogate-Key";
  // cache.stale_if_error: RFC 9111 §4.2.4 lets a cache serve a stale response when the origin
  // cannot be reached; this is how stale (past its freshness lifetime), in addition to what the
  // response's or request's stale-if-error allows. 0: only explicit stale-if-error. >= 0.
  std::chrono::seconds staleIfError{0};
  // cache.store_set_cookie: off by default. RFC 9111 lets a shared cache store a response that
  // sets a cookie, and then every client would receive that cookie — usually someone's session.
  // Like nginx and Varnish, the cache passes such responses through unless this is on.
  bool storeSetCookie = false;
  // cache.hash_seed: seeds the memory store's key hash; set a random one per process (the
  // library never seeds itself) so that clients cannot aim colliding URIs at one slot.
  std::uint64_t hashSeed = 0;
};

// The eviction policy names makeStore() accepts.
const std::vector<std::string>& policyNames();

}  // namespace fairway::cache
