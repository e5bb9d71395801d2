#pragma once

#include <fairway/core/result.hpp>

namespace fairway::ratelimit {

enum class ErrorCode {
  kInvalidArgument,   // a value out of range or malformed (the message names the field)
  kUnknownAlgorithm,  // Config::algorithm names no algorithm
  kUnavailable,       // a shared store (Redis) could not be reached
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::ratelimit
