#include <algorithm>

#include <fairway/ratelimit/gcra.hpp>

#include "kernels.hpp"

namespace fairway::ratelimit {

Gcra::Gcra(const Rate& rate) {
  const auto limit = internal::BucketLimit::of(rate);
  burst_ = limit.burst;
  interval_ = limit.interval;
  tolerance_ = limit.tolerance;
  tat_ = internal::GcraKernel::fresh();
}

Decision Gcra::tryAcquire(std::int64_t cost, TimePoint now) {
  const internal::GcraKernel kernel{{burst_, interval_, tolerance_}};
  return kernel.acquire(tat_, std::max<std::int64_t>(cost, 0), now.time_since_epoch().count());
}

}  // namespace fairway::ratelimit
