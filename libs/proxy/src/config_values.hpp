#pragma once

// Scalar syntax shared by the configuration reader: integers, numbers, booleans, and the
// "did you mean" suggestion for misspelt keys and names.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fairway::proxy::config {

std::string_view trim(std::string_view text);
std::string lower(std::string_view text);

// A whole number in decimal ("-12", "8080"; "0x5eed" when `allowHex`). nullopt on anything
// else, including "1.0", "12abc" and values outside int64.
std::optional<std::int64_t> parseInteger(std::string_view text, bool allowHex = false);
// An unsigned 64-bit value, decimal or 0x-hex (seeds).
std::optional<std::uint64_t> parseUnsigned(std::string_view text);
// A finite decimal number ("100", "0.5", "1e3"); nan and inf are refused.
std::optional<double> parseNumber(std::string_view text);
// true/false, yes/no, on/off, 1/0 in any case.
std::optional<bool> parseBool(std::string_view text);

// "%g": 50 prints as "50", 0.5 as "0.5".
std::string formatNumber(double value);

// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string> closest(std::string_view word, std::span<const std::string> candidates);

}  // namespace fairway::proxy::config
