#include "rate_limit_service.hpp"

namespace fairway::proxy {

RateLimitService::RateLimitService(std::unique_ptr<ratelimit::redis::SharedLimiter> limiter,
                                   int threads)
    : limiter_(std::move(limiter)) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

RateLimitService::~RateLimitService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    thread.join();
  }
}

void RateLimitService::submit(std::string key, Done done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({std::move(key), std::move(done)});
  }
  wake_.notify_one();
}

void RateLimitService::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) {
      return;  // pending jobs are dropped: their workers are stopping too
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    ratelimit::Decision decision = limiter_->tryAcquire(job.key, 1, core::Clock::now());
    job.done(decision);
    lock.lock();
  }
}

}  // namespace fairway::proxy
