#pragma once

#include <fairway/core/result.hpp>

namespace fairway::cache {

enum class ErrorCode {
  kInvalidArgument,  // a configuration value out of range or malformed (the message names which)
  kUnknownPolicy,    // Config::policy names no eviction policy
  kTooLarge,         // an entry above Config::maxObjectSize (or above a store's whole capacity)
  kUnavailable,      // a remote store could not be reached or answered too late
  kCorrupt,          // stored bytes that do not decode as an entry
};

using Error = core::Error<ErrorCode>;
using Status = core::Status<ErrorCode>;
template <typename T>
using Result = core::Result<T, ErrorCode>;

}  // namespace fairway::cache
