#pragma once

#include <cstdint>
#include <vector>

#include <fairway/breaker/config.hpp>

namespace fairway::breaker {

// Calls, failures and slow calls in a window.
struct WindowCounts {
  std::int64_t calls = 0;
  std::int64_t failures = 0;
  std::int64_t slowCalls = 0;

  // Shares of calls in percent; 0 when there are no calls.
  double failureRate() const { return share(failures); }
  double slowCallRate() const { return share(slowCalls); }

  friend bool operator==(const WindowCounts&, const WindowCounts&) = default;

 private:
  double share(std::int64_t n) const {
    return calls == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(calls);
  }
};

// The sliding window behind the rate conditions, as in resilience4j's sliding windows:
// - kCount: the last `size` calls, a ring of two bits per call (failed, slow) with running totals.
//   O(1) per call.
// - kTime: the calls of the last `duration`, in `buckets` slices of duration/buckets each, aligned
//   on the clock's epoch. A slice leaves the window whole, so the window spans between
//   (buckets - 1) and `buckets` slices of the past, and always the current one. O(1) per call
//   (amortised: a call after a long quiet period clears at most `buckets` slices).
//
// A plain value, not thread-safe: Breaker uses it under its lock. Never reads a clock; an instant
// older than the newest one seen counts in the newest slice (instants from several threads may
// arrive slightly out of order).
class SlidingWindow {
 public:
  // Precondition: `config` passed validate().
  explicit SlidingWindow(const WindowConfig& config);

  // Counts one call at `now` and returns the window's counts including it.
  const WindowCounts& add(bool failed, bool slow, TimePoint now);

  // The counts at `now`: for a time window, without the slices that have expired by then.
  WindowCounts counts(TimePoint now) const;

  // Forgets every call.
  void clear();

  WindowConfig::Kind kind() const { return kind_; }

 private:
  std::int64_t sliceOf(TimePoint now) const;
  void advanceTo(std::int64_t slice);

  WindowConfig::Kind kind_;
  WindowCounts totals_;

  // kCount: call i (mod size) sits at bit i of the rings.
  std::int64_t size_ = 0;
  std::size_t next_ = 0;  // the ring position of the next call
  std::vector<std::uint64_t> failedBits_;
  std::vector<std::uint64_t> slowBits_;

  // kTime: slice s (time since epoch / width_) is counted in slices_[s mod buckets].
  Duration width_{0};
  std::int64_t head_ = 0;     // the newest slice counted, when !empty_
  std::size_t headSlot_ = 0;  // its index in slices_
  bool empty_ = true;
  TimePoint headEnd_{};  // where the head slice ends: the fast path needs no division before it
  std::vector<WindowCounts> slices_;
};

}  // namespace fairway::breaker
