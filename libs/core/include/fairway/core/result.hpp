#pragma once

#include <string>
#include <utility>
#include <variant>

namespace fairway::core {

// Why an operation on untrusted input (configuration, runtime updates) was refused: a code from the
// library's own enum and a message that names the field and the reason.
template <typename Code>
struct Error {
  Code code;
  std::string message;
};

// The outcome of an operation that returns nothing: ok, or an Error. Each library aliases it with
// its own code enum: `using Status = core::Status<ErrorCode>;`.
template <typename Code>
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error<Code> error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // Precondition: !ok().
  const Error<Code>& error() const { return error_; }
  const std::string& message() const { return error_.message; }

 private:
  Error<Code> error_{};
  bool ok_ = true;
};

// A value or an Error (std::expected is C++23; this is the subset fairway needs).
template <typename T, typename Code>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error<Code> error) : value_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Preconditions: ok() for value(), !ok() for error().
  T& value() & { return std::get<0>(value_); }
  T&& value() && { return std::get<0>(std::move(value_)); }
  const T& value() const& { return std::get<0>(value_); }
  const Error<Code>& error() const { return std::get<1>(value_); }

 private:
  std::variant<T, Error<Code>> value_;
};

}  // namespace fairway::core
