#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <fairway/cache/coalescer.hpp>
#include <fairway/cache/config.hpp>
#include <fairway/cache/entry.hpp>
#include <fairway/cache/http.hpp>
#include <fairway/cache/policy.hpp>
#include <fairway/cache/status.hpp>
#include <fairway/cache/store.hpp>

namespace fairway::cache {

// What to do with a request, as decided by Cache::lookup(). Move-only: it may carry the duty to
// publish a fetch others wait for, discharged by complete() or fail() (or, if the Lookup is
// dropped, by telling the waiters the fetch was abandoned).
class Lookup {
 public:
  enum class Action {
    kServe,           // send `response`, from the cache
    kForward,         // send `upstream`; then complete() with the response, or fail()
    kRevalidate,      // send `upstream`, a conditional request; then complete() or fail()
    kWait,            // another request is fetching this URI: wait for the waiter callback or
                      // `deadline`, whichever first, then call resume()
    kGatewayTimeout,  // send `response`, a 504: only-if-cached and nothing usable (§5.2.1.7)
  };

  Action action = Action::kForward;
  Response response;   // kServe, kGatewayTimeout
  Request upstream;    // kForward, kRevalidate, kWait (what to send if the wait times out), and
                       // kServe with revalidateInBackground
  bool stale = false;  // kServe: the response is stale (max-stale, stale-while-revalidate)
  // kServe under stale-while-revalidate (RFC 5861 §3): also send `upstream` in the background and
  // hand its response to complete() (or fail()). Only one request per URI is given the job.
  bool revalidateInBackground = false;
  TimePoint deadline{};  // kWait

  Lookup() = default;
  Lookup(Lookup&&) noexcept = default;
  Lookup& operator=(Lookup&&) noexcept = default;

  // True when the cache handles the request: its response may be stored (a GET, no Range, no
  // no-store). False for a request passed through as it is (other methods, HEAD on a miss).
  bool cacheable() const { return cacheable_; }

 private:
  friend class Cache;
  EntryPtr entry_;        // the stored response chosen, if any (revalidated, or kept for errors)
  VariantsPtr variants_;  // every variant under the key, for §4.3.4 selection
  RequestDirectives directives_;
  std::optional<Coalescer::Leadership> leadership_;
  Coalescer::Wait wait_;
  bool cacheable_ = false;  // a GET the cache handles (else: passed through)
  bool stripped_ = false;   // the client's conditional fields were removed from `upstream`
};

// Counters since construction, for metrics.
struct CacheStats {
  std::uint64_t hits = 0;           // served fresh from the cache
  std::uint64_t staleHits = 0;      // served stale (max-stale, stale-while-revalidate, on error)
  std::uint64_t misses = 0;         // nothing stored: fetched
  std::uint64_t revalidations = 0;  // conditional requests sent (including background ones)
  std::uint64_t notModified = 0;    // ... answered 304: entries freshened
  std::uint64_t coalesced = 0;      // requests that waited for another's fetch
  std::uint64_t stores = 0;         // responses stored
  std::uint64_t passes = 0;         // requests not handled by the cache (unsafe methods, ranges)
  std::uint64_t invalidations = 0;  // stored responses removed by unsafe requests (§4.4)
  std::uint64_t storeErrors = 0;    // store calls that failed (counted as misses)
};

// A shared HTTP cache (RFC 9111, RFC 5861): the Policy's rules over a Store, with request
// coalescing. How the proxy drives one request:
//
//   Lookup l = cache.lookup(request, now, waiter);
//   kServe          -> send l.response (and, if l.revalidateInBackground, send l.upstream in the
//                      background and pass its response to complete())
//   kForward /
//   kRevalidate     -> send l.upstream; response: send complete(l, request, response, sentAt, now)
//                      no response: send fail(l, request, now) or, if nullopt, your own 502/504
//   kWait           -> on waiter() or at l.deadline: l = resume(std::move(l), request, now), again
//   kGatewayTimeout -> send l.response
//
// Unsafe methods go through the same path (kForward), and complete() invalidates what they
// changed (§4.4).
//
// Thread-safe. No method reads a clock: `now` carries the steady instant (coalescing deadlines)
// and the wall-clock one (ages, HTTP dates). Methods call the Store: with a store whose
// mayBlock() is true, call them off the event loops (or drive Policy and Store directly).
class Cache {
 public:
  // Use make(), which validates; this trusts `config`.
  Cache(const Config& config, std::shared_ptr<Store> store);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Decides how to answer `request` at `now`. `waiter` is called (on another thread, once) if
  // the result is kWait and the fetch waited for ends before the caller leaves.
  Lookup lookup(const Request& request, const Instant& now, Coalescer::Waiter waiter = {});

  // The upstream answered `lookup.upstream`, sent at `requestTime`, with `response`, received at
  // `now`: stores or freshens (a 304 updates the stored response, §4.3.4), serves stale on a
  // server error where stale-if-error allows, invalidates after unsafe methods, tells waiters,
  // and returns the response for the client (the client's own conditional fields evaluated).
  Response complete(Lookup& lookup, const Request& request, Response response,
                    SystemTime requestTime, const Instant& now);

  // The upstream could not be reached or timed out: a stale response if stale-if-error (or
  // Config::staleIfError) allows, else nullopt (the caller answers 502 or 504). Tells waiters.
  std::optional<Response> fail(Lookup& lookup, const Request& request, const Instant& now);

  // Continues a kWait: with the outcome if published (serve the stored response when it suits
  // this request), else — at the deadline — leaves the flight and returns kForward.
  Lookup resume(Lookup&& waited, const Request& request, const Instant& now);

  // Purge (the admin interface): by URI (every variant), by URI prefix, by tag. Return how many
  // stored responses went.
  Result<std::size_t> purge(std::string_view uri);
  Result<std::size_t> purgePrefix(std::string_view prefix);
  Result<std::size_t> purgeTag(std::string_view tag);

  CacheStats stats() const;
  const Policy& policy() const { return policy_; }
  Store& store() { return *store_; }
  Coalescer& coalescer() { return coalescer_; }

 private:
  Lookup decide(const Request& request, const Instant& now, Coalescer::Waiter waiter,
                bool coalesce);
  Lookup serveEntry(const EntryPtr& entry, const Request& request, const Instant& now, bool stale);
  Lookup goUpstream(Lookup lookup, const Request& request, const Instant& now,
                    Coalescer::Waiter waiter, bool coalesce);
  void publish(Lookup& lookup, FlightOutcome outcome);
  Response staleResponse(const Entry& entry, const Request& request, SystemTime now);

  Policy policy_;
  std::shared_ptr<Store> store_;
  Coalescer coalescer_;
  const bool coalesce_;

  struct Counters {
    std::atomic<std::uint64_t> hits{0}, staleHits{0}, misses{0}, revalidations{0}, notModified{0},
        coalesced{0}, stores{0}, passes{0}, invalidations{0}, storeErrors{0};
  };
  mutable Counters counters_;
};

// A cache for `config`, on `store` or, when null, on the memory store makeStore(config) builds.
// Errors name the field ("cache.max_size: must be >= 1 (got 0)").
Result<std::unique_ptr<Cache>> make(const Config& config, std::shared_ptr<Store> store = nullptr);

}  // namespace fairway::cache
