#pragma once

#include <fairway/core/result.hpp>

namespace fairway::health {

enum class ErrorCode {
  kInvalidArgument,  // a configuration value out of range, or an empty id (the message names it)
  kDuplicateId,      // an endpoint id added twice
  kNotFound,         // no endpoint with that id (never added, or removed since)
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::health
