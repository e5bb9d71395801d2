#pragma once

#include <fairway/core/result.hpp>

namespace fairway::sim {

enum class ErrorCode {
  kInvalidArgument,  // a scenario value out of range, unknown or missing (the message names the
                     // key)
  kParse,            // the scenario file is not valid YAML (the message gives line and column)
  kIo,               // a file could not be read or written
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::sim
