#pragma once

#include <fairway/core/random.hpp>
#include <fairway/core/time.hpp>

namespace fairway::health {

// Time arrives as `now`, randomness from a seed: nothing in this library reads a clock.
using core::Clock;
using core::Duration;
using core::Random;
using core::TimePoint;

}  // namespace fairway::health
