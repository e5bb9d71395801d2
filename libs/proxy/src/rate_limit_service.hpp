#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fairway/core/time.hpp>
#include <fairway/ratelimit/decision.hpp>
#include <fairway/ratelimit/redis/shared_limiter.hpp>

namespace fairway::proxy {

// The Redis-shared rate limit, off the event loops: SharedLimiter blocks on the network (up to
// its command timeout), so decisions are asked on a few threads of its own and handed back to
// the asking worker through its loop's post(). A slow or dead Redis delays decisions by at most
// the timeout and then falls back to rate_limit.redis.fail_mode; it never stalls a worker.
class RateLimitService {
 public:
  using Done = std::function<void(ratelimit::Decision)>;

  RateLimitService(std::unique_ptr<ratelimit::redis::SharedLimiter> limiter, int threads);
  ~RateLimitService();
  RateLimitService(const RateLimitService&) = delete;
  RateLimitService& operator=(const RateLimitService&) = delete;

  // Thread-safe: decides for `key` on a service thread, then calls `done` there.
  void submit(std::string key, Done done);

  ratelimit::redis::SharedLimiterStats stats() const { return limiter_->stats(); }
  bool degraded() const { return limiter_->degraded(); }

 private:
  struct Job {
    std::string key;
    Done done;
  };
  void run();

  std::unique_ptr<ratelimit::redis::SharedLimiter> limiter_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fairway::proxy
