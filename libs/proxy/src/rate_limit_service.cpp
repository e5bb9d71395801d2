#include "rate_limit_service.hpp"

namespace fairway::proxy {

RateLimitService::RateLimitService(std::unique_ptr<ratelimit::redis::SharedLimiter> limiter,
                                   int threads)
    : limiter_(std::move(limiter)), jobs_(threads) {}

void RateLimitService::submit(std::string key, Done done) {
  jobs_.submit([this, key = std::move(key), done = std::move(done)] {
    done(limiter_->tryAcquire(key, 1, core::Clock::now()));
  });
}

}  // namespace fairway::proxy
