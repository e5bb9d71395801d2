#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fairway::ratelimit {

// A rate: `requestsPerSecond` sustained, `burst` at once. The original configuration's
// `rate_limit: { requests_per_second: 100, burst: 10 }`.
struct Rate {
  double requestsPerSecond = 100;  // > 0
  std::int64_t burst = 10;         // >= 1: the most that may pass at once
};

struct Config {
  // token_bucket, gcra (the same limit, kept as one timestamp per key), sliding_window (a
  // two-window weighted counter over `window`; burst is then the count allowed per window).
  std::string algorithm = "token_bucket";
  Rate rate;
  std::chrono::nanoseconds window = std::chrono::seconds(1);  // sliding_window only
  // Keyed limiters: memory is bounded to about maxKeys entries. When a key's bucket is full, the
  // key least in debt goes: an idle one (its quota whole again, so forgetting it changes nothing)
  // if there is one, else the active one closest to idle, which comes back with a full quota.
  // Sharded for concurrent use; see keyed_limiter.hpp.
  std::size_t maxKeys = 1 << 20;
  std::size_t shards = 64;  // a power of two
};

// The algorithm names Config::algorithm accepts: token_bucket, gcra, sliding_window.
const std::vector<std::string>& algorithmNames();

}  // namespace fairway::ratelimit
