#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/decision.hpp>
#include <fairway/ratelimit/status.hpp>

namespace fairway::ratelimit {

using core::Clock;
using core::TimePoint;

// A keyed rate limiter: one quota per key (a client address, a header value, a route). The seam
// between the proxy and local or shared (Redis) limits.
class Limiter {
 public:
  virtual ~Limiter() = default;

  // Takes `cost` (>= 1) from `key`'s quota if it is all there; otherwise takes nothing.
  // Thread-safe. Local limiters never block and never read a clock; shared ones may wait on the
  // network up to their configured timeout.
  virtual Decision tryAcquire(std::string_view key, std::int64_t cost, TimePoint now) = 0;

  // Keys currently held in memory (bounded by Config::maxKeys for local limiters).
  virtual std::size_t size() const = 0;
};

// A local, in-memory keyed limiter for `config`. Errors name the field: kUnknownAlgorithm,
// kInvalidArgument ("rate_limit.requests_per_second: must be > 0 (got 0)").
Result<std::unique_ptr<Limiter>> make(const Config& config);

// Checks `config` as make() does, without building anything.
Status validate(const Config& config);

}  // namespace fairway::ratelimit
