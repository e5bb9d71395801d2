#pragma once

// Shared by the cache tests: fixed instants on both clocks, message builders, and a harness that
// plays the proxy's part (lookup → upstream → complete) against a scripted origin.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fairway/cache/cache.hpp>
#include <fairway/cache/memory_store.hpp>
#include <fairway/cache/parsing.hpp>
#include <fairway/cache/policy.hpp>
#include <fairway/cache/version.hpp>

namespace fairway::cache::test {

using namespace std::chrono_literals;

// Every test's timeline starts here; nothing reads a clock.
inline const TimePoint t0 = TimePoint(std::chrono::hours(1));
// The wall clock at t0: Sunday, 22 November 2026, 10:00:00 GMT.
inline const SystemTime w0 = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 10h;

// Both clocks `offset` after the start.
inline Instant at(std::chrono::milliseconds offset) {
  return Instant{t0 + offset, w0 + offset};
}
// An HTTP date `offset` from w0.
inline std::string httpDate(std::chrono::seconds offset) {
  return formatHttpDate(w0 + offset);
}

inline constexpr const char* kUri = "https://example.com/a";

inline Request get(std::string uri = kUri, Headers headers = {}) {
  return Request{"GET", std::move(uri), std::move(headers)};
}
inline Request request(std::string method, std::string uri = kUri, Headers headers = {}) {
  return Request{std::move(method), std::move(uri), std::move(headers)};
}

// A response with the given fields and a body. Without a Date field, the cache dates it when
// stored (the response time), as RFC 9110 §6.6.1 has it.
inline Response response(int status, Headers headers, std::string body = "body") {
  return Response{status, std::move(headers), makeBody(std::move(body))};
}
inline Response ok(Headers headers, std::string body = "body") {
  return response(200, std::move(headers), std::move(body));
}

// An entry for `r` as received at w0 + `receivedAt` (sent at the same instant), built by the policy
// (so it must be storable) or directly when it is not.
inline EntryPtr entryFor(const Response& r, std::chrono::seconds receivedAt = 0s,
                         const Request& req = get(), const Policy& policy = Policy()) {
  if (auto e = policy.makeEntry(req, r, w0 + receivedAt, w0 + receivedAt)) {
    return std::make_shared<const Entry>(std::move(*e));
  }
  return std::make_shared<const Entry>(req.uri, "", r, w0 + receivedAt, w0 + receivedAt);
}

inline Config smallConfig() {
  Config config;
  config.maxSize = 100;
  config.maxBytes = 1 << 20;
  config.maxObjectSize = 64 << 10;
  config.shards = 1;
  return config;
}

inline std::unique_ptr<Cache> makeCacheOrDie(const Config& config = smallConfig()) {
  auto result = make(config);
  if (!result) {
    std::fprintf(stderr, "make() failed: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

// What one request through the cache came to.
struct Exchange {
  Lookup::Action action;            // what lookup() decided
  Response response;                // what the client got
  std::optional<Request> upstream;  // what was sent upstream, if anything
};

// Plays the proxy: looks `req` up at `now`; if the cache goes upstream, the origin answers
// `origin` (sent and received at `now`); background revalidations complete at once.
inline Exchange fetch(Cache& cache, const Request& req, const Instant& now,
                      const std::optional<Response>& origin) {
  Lookup l = cache.lookup(req, now);
  Exchange x{l.action, l.response, std::nullopt};
  switch (l.action) {
    case Lookup::Action::kServe:
      if (l.revalidateInBackground) {
        x.upstream = l.upstream;
        if (origin) {
          (void)cache.complete(l, req, *origin, now.wall, now);
        } else {
          (void)cache.fail(l, req, now);
        }
      }
      break;
    case Lookup::Action::kForward:
    case Lookup::Action::kRevalidate:
      x.upstream = l.upstream;
      if (origin) {
        x.response = cache.complete(l, req, *origin, now.wall, now);
      } else if (auto stale = cache.fail(l, req, now)) {
        x.response = *stale;
      } else {
        x.response = Response{502, {}, nullptr};
      }
      break;
    case Lookup::Action::kWait:
    case Lookup::Action::kGatewayTimeout:
      break;
  }
  return x;
}

inline std::string bodyOf(const Response& r) {
  return r.body ? *r.body : std::string();
}

}  // namespace fairway::cache::test
