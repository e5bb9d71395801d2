#include <algorithm>

#include <fairway/ratelimit/token_bucket.hpp>

#include "kernels.hpp"

namespace fairway::ratelimit {

TokenBucket::TokenBucket(const Rate& rate) {
  const auto limit = internal::BucketLimit::of(rate);
  burst_ = limit.burst;
  interval_ = limit.interval;
  tolerance_ = limit.tolerance;
  const auto fresh = internal::TokenBucketKernel::fresh();
  credit_ = fresh.credit;
  last_ = fresh.last;
}

Decision TokenBucket::tryAcquire(std::int64_t cost, TimePoint now) {
  internal::TokenBucketKernel::State state{credit_, last_};
  const internal::TokenBucketKernel kernel{{burst_, interval_, tolerance_}};
  const Decision d =
      kernel.acquire(state, std::max<std::int64_t>(cost, 0), now.time_since_epoch().count());
  credit_ = state.credit;
  last_ = state.last;
  return d;
}

}  // namespace fairway::ratelimit
