#include <utility>

#include <fairway/cache/cache.hpp>
#include <fairway/cache/memory_store.hpp>

namespace fairway::cache {
namespace {

// With coalescing off, a background revalidation still leads its key this long, so that one stale
// entry does not start a revalidation per request.
constexpr std::chrono::seconds kBackgroundLeadTimeout{10};

void bump(std::atomic<std::uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

Response gatewayTimeout() {
  Response r;
  r.status = 504;
  r.headers.add("Content-Length", "0");
  return r;
}

}  // namespace

Cache::Cache(const Config& config, std::shared_ptr<Store> store)
    : policy_(config),
      store_(std::move(store)),
      coalescer_(config.coalesceTimeout.count() > 0
                     ? std::chrono::nanoseconds(config.coalesceTimeout)
                     : std::chrono::nanoseconds(kBackgroundLeadTimeout)),
      coalesce_(config.coalesceTimeout.count() > 0) {}

Cache::~Cache() = default;

Lookup Cache::lookup(const Request& request, const Instant& now, Coalescer::Waiter waiter) {
  return decide(request, now, std::move(waiter), coalesce_);
}

Lookup Cache::decide(const Request& request, const Instant& now, Coalescer::Waiter waiter,
                     bool coalesce) {
  Lookup l;
  l.upstream = request;
  // Only GET and HEAD are answered from the cache (§4); everything else goes through, and unsafe
  // methods invalidate on completion (§4.4).
  if (request.method != "GET" && request.method != "HEAD") {
    bump(counters_.passes);
    return l;
  }
  l.directives_ = parseRequestDirectives(request.headers);
  auto found = store_->lookup(request.uri);
  if (!found) {
    bump(counters_.storeErrors);
  } else {
    l.variants_ = std::move(found).value();
  }
  if (l.variants_) {
    l.entry_ = Policy::select(*l.variants_, request);
  }
  if (l.entry_) {
    const Verdict verdict = policy_.evaluate(*l.entry_, l.directives_, now.wall);
    switch (verdict.usability) {
      case Usability::kFresh:
        bump(counters_.hits);
        l.action = Lookup::Action::kServe;
        l.response = Policy::serve(*l.entry_, request, now.wall);
        return l;
      case Usability::kStale:
        bump(counters_.staleHits);
        l.action = Lookup::Action::kServe;
        l.stale = true;
        l.response = Policy::serve(*l.entry_, request, now.wall);
        return l;
      case Usability::kStaleWhileRevalidate:
        bump(counters_.staleHits);
        l.action = Lookup::Action::kServe;
        l.stale = true;
        l.response = Policy::serve(*l.entry_, request, now.wall);
        // One background revalidation per key; the others just serve stale.
        if (auto leadership = coalescer_.tryLead(request.uri, now.steady)) {
          bump(counters_.revalidations);
          l.leadership_ = std::move(leadership);
          l.cacheable_ = true;
          l.revalidateInBackground = true;
          Request get = request;
          get.method = "GET";
          l.upstream = Policy::conditionalRequest(get, *l.entry_);
        }
        return l;
      case Usability::kRevalidate:
        break;
    }
  }
  // §5.2.1.7: only-if-cached and nothing usable.
  if (l.directives_.onlyIfCached) {
    l.action = Lookup::Action::kGatewayTimeout;
    l.response = gatewayTimeout();
    return l;
  }
  // HEAD, Range and no-store requests go upstream as they are, alone: their responses are not
  // stored, so nobody could wait for them.
  if (request.method == "HEAD" || request.headers.contains("Range") || l.directives_.noStore) {
    bump(counters_.passes);
    l.entry_ = nullptr;
    return l;
  }
  return goUpstream(std::move(l), request, now, std::move(waiter), coalesce);
}

Lookup Cache::goUpstream(Lookup l, const Request& request, const Instant& now,
                         Coalescer::Waiter waiter, bool coalesce) {
  l.cacheable_ = true;
  l.stripped_ = true;
  const bool validate = l.entry_ && l.entry_->hasValidator();
  l.action = validate ? Lookup::Action::kRevalidate : Lookup::Action::kForward;
  l.upstream = validate ? Policy::conditionalRequest(request, *l.entry_)
                        : Policy::unconditionalRequest(request);
  if (coalesce) {
    Coalescer::Joined joined = coalescer_.join(request.uri, now.steady, std::move(waiter));
    if (!joined.isLeader()) {
      bump(counters_.coalesced);
      l.action = Lookup::Action::kWait;
      l.deadline = joined.follower->deadline();
      l.wait_ = std::move(*joined.follower);
      return l;
    }
    l.leadership_ = std::move(joined.leader);
  }
  bump(validate ? counters_.revalidations : counters_.misses);
  return l;
}

void Cache::publish(Lookup& l, FlightOutcome outcome) {
  if (l.leadership_) {
    l.leadership_->publish(std::move(outcome));
    l.leadership_.reset();
  }
}

Response Cache::complete(Lookup& l, const Request& request, Response response,
                         SystemTime requestTime, const Instant& now) {
  if (!isSafeMethod(request.method)) {
    for (const std::string& key : Policy::invalidationTargets(request, response)) {
      if (auto erased = store_->erase(key)) {
        counters_.invalidations.fetch_add(erased.value(), std::memory_order_relaxed);
      } else {
        bump(counters_.storeErrors);
      }
    }
    return response;
  }
  if (!l.cacheable_) {
    return response;
  }
  // §4.3.3, §4.3.4: a 304 to our validation freshens what it selects, and the client is answered
  // from the freshened response.
  if (response.status == 304 && l.entry_) {
    bump(counters_.notModified);
    const Variants none;
    EntryPtr served;
    for (const EntryPtr& selected :
         Policy::selectForUpdate(l.variants_ ? *l.variants_ : none, response, l.entry_)) {
      auto fresh = std::make_shared<const Entry>(
          policy_.freshen(*selected, response, requestTime, now.wall));
      if (selected == l.entry_) {
        served = fresh;
      }
      if (!store_->insert(fresh)) {
        bump(counters_.storeErrors);
      }
    }
    if (!served) {  // the validated entry was not among those selected: freshen it regardless
      served = std::make_shared<const Entry>(
          policy_.freshen(*l.entry_, response, requestTime, now.wall));
    }
    publish(l, {FlightOutcome::Kind::kStored, served});
    return Policy::serve(*served, request, now.wall);
  }
  // RFC 5861 §4: a server error where a stale response may stand in.
  if (Policy::isServerError(response.status) && l.entry_ &&
      policy_.servableOnError(*l.entry_, l.directives_, now.wall)) {
    publish(l, {FlightOutcome::Kind::kFailed, nullptr});
    bump(counters_.staleHits);
    return Policy::serve(*l.entry_, request, now.wall);
  }
  // Stored as the response to what was sent (a GET, without validators), not to the client's
  // request, which may be a HEAD or conditional.
  std::optional<Entry> entry;
  if (!l.directives_.noStore) {
    entry = policy_.makeEntry(Policy::unconditionalRequest(l.upstream), response, requestTime,
                              now.wall);
  }
  if (entry && entry->charge() <= static_cast<std::size_t>(policy_.config().maxObjectSize) &&
      policy_.worthStoring(*entry)) {
    auto stored = std::make_shared<const Entry>(std::move(*entry));
    if (store_->insert(stored)) {
      bump(counters_.stores);
    } else {
      bump(counters_.storeErrors);
    }
    publish(l, {FlightOutcome::Kind::kStored, std::move(stored)});
  } else {
    publish(l, {Policy::isServerError(response.status) ? FlightOutcome::Kind::kFailed
                                                       : FlightOutcome::Kind::kNotShared,
                nullptr});
  }
  // The client's own conditional fields were taken off the upstream request; answer them here.
  if (l.stripped_ && Policy::notModified(request, response, now.wall)) {
    return Policy::notModifiedResponse(response);
  }
  return response;
}

std::optional<Response> Cache::fail(Lookup& l, const Request& request, const Instant& now) {
  publish(l, {FlightOutcome::Kind::kFailed, nullptr});
  if (l.entry_ && policy_.servableOnError(*l.entry_, l.directives_, now.wall)) {
    bump(counters_.staleHits);
    return Policy::serve(*l.entry_, request, now.wall);
  }
  return std::nullopt;
}

Lookup Cache::resume(Lookup&& waited, const Request& request, const Instant& now) {
  Lookup l = std::move(waited);
  std::optional<FlightOutcome> outcome = l.wait_.poll();
  if (!outcome) {
    if (coalescer_.leave(l.wait_)) {
      // Timed out: fetch alone (no flight to lead; the response is still stored).
      l.wait_ = {};
      l.action = l.entry_ && l.entry_->hasValidator() ? Lookup::Action::kRevalidate
                                                      : Lookup::Action::kForward;
      if (l.entry_) {
        bump(counters_.revalidations);
      } else {
        bump(counters_.misses);
      }
      return l;
    }
    outcome = l.wait_.poll();  // published meanwhile
  }
  l.wait_ = {};
  if (outcome && outcome->kind == FlightOutcome::Kind::kStored && outcome->entry &&
      Policy::matchesVary(*outcome->entry, request)) {
    const Verdict verdict = policy_.evaluate(*outcome->entry, l.directives_, now.wall);
    if (verdict.usability == Usability::kFresh || verdict.usability == Usability::kStale) {
      bump(counters_.hits);
      Lookup served;
      served.action = Lookup::Action::kServe;
      served.stale = verdict.usability == Usability::kStale;
      served.response = Policy::serve(*outcome->entry, request, now.wall);
      return served;
    }
  }
  if (outcome && outcome->kind == FlightOutcome::Kind::kFailed && l.entry_ &&
      policy_.servableOnError(*l.entry_, l.directives_, now.wall)) {
    bump(counters_.staleHits);
    Lookup served;
    served.action = Lookup::Action::kServe;
    served.stale = true;
    served.response = Policy::serve(*l.entry_, request, now.wall);
    return served;
  }
  // Nothing to share with this request: decide again, without waiting a second time.
  return decide(request, now, {}, false);
}

Result<std::size_t> Cache::purge(std::string_view uri) {
  return store_->erase(uri);
}

Result<std::size_t> Cache::purgePrefix(std::string_view prefix) {
  return store_->purgePrefix(prefix);
}

Result<std::size_t> Cache::purgeTag(std::string_view tag) {
  return store_->purgeTag(tag);
}

CacheStats Cache::stats() const {
  const auto get = [](const std::atomic<std::uint64_t>& c) {
    return c.load(std::memory_order_relaxed);
  };
  CacheStats s;
  s.hits = get(counters_.hits);
  s.staleHits = get(counters_.staleHits);
  s.misses = get(counters_.misses);
  s.revalidations = get(counters_.revalidations);
  s.notModified = get(counters_.notModified);
  s.coalesced = get(counters_.coalesced);
  s.stores = get(counters_.stores);
  s.passes = get(counters_.passes);
  s.invalidations = get(counters_.invalidations);
  s.storeErrors = get(counters_.storeErrors);
  return s;
}

Result<std::unique_ptr<Cache>> make(const Config& config, std::shared_ptr<Store> store) {
  if (Status s = validate(config); !s) {
    return s.error();
  }
  if (!store) {
    auto made = makeStore(config);
    if (!made) {
      return made.error();
    }
    store = std::move(made).value();
  }
  return std::make_unique<Cache>(config, std::move(store));
}

}  // namespace fairway::cache
