#include <algorithm>

#include <fairway/ratelimit/sliding_window.hpp>

#include "kernels.hpp"

namespace fairway::ratelimit {

SlidingWindow::SlidingWindow(std::int64_t limit, std::chrono::nanoseconds window) {
  const auto params = internal::WindowLimit::of(limit, window);
  limit_ = params.limit;
  window_ = params.window;
  const auto fresh = internal::SlidingWindowKernel<std::int64_t>::fresh();
  index_ = fresh.index;
  previous_ = fresh.previous;
  current_ = fresh.current;
}

Decision SlidingWindow::tryAcquire(std::int64_t cost, TimePoint now) {
  const internal::SlidingWindowKernel<std::int64_t> kernel{{limit_, window_}};
  internal::SlidingWindowKernel<std::int64_t>::State state{index_, previous_, current_};
  const Decision d =
      kernel.acquire(state, std::max<std::int64_t>(cost, 0), now.time_since_epoch().count());
  index_ = state.index;
  previous_ = state.previous;
  current_ = state.current;
  return d;
}

}  // namespace fairway::ratelimit
