#pragma once

#include <string_view>

namespace fairway::sim {

// The library's version, declared here once; CMake reads it for the package version file.
inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace fairway::sim
