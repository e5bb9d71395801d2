#pragma once

#include <string_view>

namespace fairway::cache {

// The library's version, declared here once; CMake reads it for the package version file.
inline constexpr std::string_view kVersion = "0.2.1";

}  // namespace fairway::cache
