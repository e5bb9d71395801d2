#pragma once

#include <chrono>
#include <cstdint>

namespace fairway::ratelimit {

// The answer to one acquire: enough to reply 429 with `Retry-After` and the `RateLimit-Policy` /
// `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers).
//
// Every field is exact, in integer nanoseconds, for the `now` of the call (each algorithm's header
// gives its formulas): if nothing else arrives, the same request passes at now + retryAfter and
// not one nanosecond earlier. A request with cost > limit can never pass: it is denied, takes
// nothing, and its retryAfter is reset (possibly zero) — answer it as too large (413) rather than
// ask the client to retry.
struct Decision {
  bool allowed = false;
  std::int64_t limit = 0;      // the policy's quota: requests that may pass at once (the burst)
  std::int64_t remaining = 0;  // requests that could still pass now, after this decision
                               // (rounded down, never negative)
  // Denied: how long until `cost` would be allowed (Retry-After, rounded up to seconds by callers).
  // Allowed: zero.
  std::chrono::nanoseconds retryAfter{0};
  // How long until the quota is whole again if nothing else arrives (RateLimit `reset`).
  std::chrono::nanoseconds reset{0};
};

}  // namespace fairway::ratelimit
