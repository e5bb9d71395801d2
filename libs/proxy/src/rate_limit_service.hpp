#pragma once

#include <functional>
#include <memory>
#include <string>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/decision.hpp>
#include <fairway/ratelimit/redis/shared_limiter.hpp>

#include "job_queue.hpp"

namespace fairway::proxy {

// The Redis-shared rate limit, off the event loops: SharedLimiter blocks on the network (up to
// its command timeout), so decisions are asked on a few threads of its own and handed back to
// the asking worker through its loop's post(). A slow or dead Redis delays decisions by at most
// the timeout and then falls back to rate_limit.redis.fail_mode; it never stalls a worker.
class RateLimitService {
 public:
  using Done = std::function<void(ratelimit::Decision)>;

  RateLimitService(std::unique_ptr<ratelimit::redis::SharedLimiter> limiter, int threads);
  RateLimitService(const RateLimitService&) = delete;
  RateLimitService& operator=(const RateLimitService&) = delete;

  // Thread-safe: decides for `key` on a service thread, then calls `done` there.
  void submit(std::string key, Done done);

  ratelimit::redis::SharedLimiterStats stats() const { return limiter_->stats(); }
  bool degraded() const { return limiter_->degraded(); }

 private:
  std::unique_ptr<ratelimit::redis::SharedLimiter> limiter_;
  JobQueue jobs_;  // last: joined before the limiter goes
};

}  // namespace fairway::proxy
