#pragma once

#include <fairway/core/result.hpp>

namespace fairway::breaker {

enum class ErrorCode {
  kInvalidArgument,  // a value out of range or inconsistent with another (the message names which)
  kNeverTrips,       // a configuration under which the breaker could never open
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::breaker
