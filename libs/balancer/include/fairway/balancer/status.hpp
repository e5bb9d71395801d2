#pragma once

#include <fairway/core/result.hpp>

namespace fairway::balancer {

enum class ErrorCode {
  kInvalidArgument,   // a value out of range or malformed (the message names which)
  kUnknownAlgorithm,  // Config::algorithm names no algorithm
  kInvalidWeight,     // weight outside [1, kMaxWeight]
  kDuplicateId,       // an endpoint id given twice
  kNotFound,          // no endpoint with that id
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::balancer
