#pragma once

#include <string>
#include <utility>
#include <variant>

namespace fairway::balancer {

enum class ErrorCode {
  kInvalidArgument,   // a value out of range or malformed (message names which)
  kUnknownAlgorithm,  // Config::algorithm names no algorithm
  kInvalidWeight,     // weight outside [1, kMaxWeight]
  kDuplicateId,       // an endpoint id given twice
  kNotFound,          // no endpoint with that id
};

// Why an operation on untrusted input (configuration, membership updates) was refused.
struct Error {
  ErrorCode code;
  std::string message;
};

// The outcome of an operation that returns nothing: ok, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // Precondition: !ok().
  const Error& error() const { return error_; }
  const std::string& message() const { return error_.message; }

 private:
  Error error_{ErrorCode::kInvalidArgument, {}};
  bool ok_ = true;
};

// A value or an Error (std::expected is C++23; this is the subset fairway needs).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}    // NOLINT: implicit by design
  Result(Error error) : value_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Preconditions: ok() for value(), !ok() for error().
  T& value() & { return std::get<0>(value_); }
  T&& value() && { return std::get<0>(std::move(value_)); }
  const T& value() const& { return std::get<0>(value_); }
  const Error& error() const { return std::get<1>(value_); }

 private:
  std::variant<T, Error> value_;
};

}  // namespace fairway::balancer
