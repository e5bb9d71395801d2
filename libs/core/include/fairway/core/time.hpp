#pragma once

#include <chrono>
#include <type_traits>

namespace fairway::core {

// The one clock type every policy takes `now` from. Policies never read it: the proxy's event loops
// do, and the simulator substitutes virtual instants of the same type.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

static_assert(std::is_same_v<Duration, std::chrono::nanoseconds>,
              "fairway assumes a nanosecond steady clock (Linux, libstdc++ and libc++)");

}  // namespace fairway::core
