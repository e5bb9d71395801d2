#pragma once

#include <fairway/core/random.hpp>

namespace fairway::balancer {

using core::hashKey;
using core::Random;
using core::Uint128;

}  // namespace fairway::balancer
