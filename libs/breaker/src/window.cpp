#include <algorithm>
#include <cassert>

#include <fairway/breaker/window.hpp>

namespace fairway::breaker {
namespace {

constexpr std::size_t kBitsPerWord = 64;

// Floor division: instants before the clock's epoch (possible in a simulator) still map to the
// slice that contains them.
std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// The ring index of a slice; slices before the epoch are negative.
std::size_t slotOf(std::int64_t slice, std::int64_t buckets) {
  const std::int64_t r = slice % buckets;
  return static_cast<std::size_t>(r < 0 ? r + buckets : r);
}

void subtract(WindowCounts& from, const WindowCounts& what) {
  from.calls -= what.calls;
  from.failures -= what.failures;
  from.slowCalls -= what.slowCalls;
}

void accumulate(WindowCounts& to, const WindowCounts& what) {
  to.calls += what.calls;
  to.failures += what.failures;
  to.slowCalls += what.slowCalls;
}

}  // namespace

SlidingWindow::SlidingWindow(const WindowConfig& config) : kind_(config.kind) {
  if (kind_ == WindowConfig::Kind::kCount) {
    assert(config.size >= 1);
    size_ = config.size;
    const std::size_t words = (static_cast<std::size_t>(size_) + kBitsPerWord - 1) / kBitsPerWord;
    failedBits_.assign(words, 0);
    slowBits_.assign(words, 0);
  } else {
    assert(config.buckets >= 1 && config.duration.count() >= config.buckets);
    width_ = config.duration / config.buckets;
    slices_.assign(static_cast<std::size_t>(config.buckets), WindowCounts{});
  }
}

const WindowCounts& SlidingWindow::add(bool failed, bool slow, TimePoint now) {
  if (kind_ == WindowConfig::Kind::kCount) {
    // Read-modify-write each total once, in scalars: mixing 8- and 16-byte accesses to the same
    // totals (as auto-vectorised updates do) costs a store-forwarding stall per call.
    const std::size_t word = next_ / kBitsPerWord;
    const std::uint64_t mask = std::uint64_t{1} << (next_ % kBitsPerWord);
    std::uint64_t& failedWord = failedBits_[word];
    std::uint64_t& slowWord = slowBits_[word];
    std::int64_t failures = totals_.failures + (failed ? 1 : 0);
    std::int64_t slowCalls = totals_.slowCalls + (slow ? 1 : 0);
    if (totals_.calls == size_) {
      // The ring is full: the call at next_ leaves the window.
      failures -= (failedWord & mask) != 0 ? 1 : 0;
      slowCalls -= (slowWord & mask) != 0 ? 1 : 0;
    } else {
      ++totals_.calls;
    }
    failedWord = (failedWord & ~mask) | (failed ? mask : 0);
    slowWord = (slowWord & ~mask) | (slow ? mask : 0);
    totals_.failures = failures;
    totals_.slowCalls = slowCalls;
    next_ = next_ + 1 == static_cast<std::size_t>(size_) ? 0 : next_ + 1;
    return totals_;
  }
  if (empty_ || now >= headEnd_) {
    advanceTo(sliceOf(now));
  }
  WindowCounts& head = slices_[headSlot_];
  const WindowCounts call{1, failed ? 1 : 0, slow ? 1 : 0};
  accumulate(head, call);
  accumulate(totals_, call);
  return totals_;
}

WindowCounts SlidingWindow::counts(TimePoint now) const {
  if (kind_ == WindowConfig::Kind::kCount || empty_) {
    return totals_;
  }
  const std::int64_t buckets = std::ssize(slices_);
  const std::int64_t newest = std::max(sliceOf(now), head_);
  // Live slices at `now`: (newest - buckets, newest]; of those, only up to head_ hold calls.
  WindowCounts live;
  for (std::int64_t s = std::max(newest - buckets + 1, head_ - buckets + 1); s <= head_; ++s) {
    accumulate(live, slices_[slotOf(s, buckets)]);
  }
  return live;
}

void SlidingWindow::clear() {
  totals_ = {};
  next_ = 0;
  std::fill(failedBits_.begin(), failedBits_.end(), 0);
  std::fill(slowBits_.begin(), slowBits_.end(), 0);
  std::fill(slices_.begin(), slices_.end(), WindowCounts{});
  empty_ = true;
}

std::int64_t SlidingWindow::sliceOf(TimePoint now) const {
  return floorDiv(now.time_since_epoch().count(), width_.count());
}

// Makes `slice` the head, emptying the slices that leave the window on the way. A slice older
// than the head (an out-of-order instant) leaves the head where it is.
void SlidingWindow::advanceTo(std::int64_t slice) {
  const std::int64_t buckets = std::ssize(slices_);
  if (!empty_ && slice <= head_) {
    return;
  }
  if (empty_ || slice - head_ >= buckets) {
    std::fill(slices_.begin(), slices_.end(), WindowCounts{});
    totals_ = {};
  } else {
    for (std::int64_t s = head_ + 1; s <= slice; ++s) {
      WindowCounts& expired = slices_[slotOf(s, buckets)];
      subtract(totals_, expired);
      expired = {};
    }
  }
  head_ = slice;
  headSlot_ = slotOf(slice, buckets);
  empty_ = false;
  headEnd_ = TimePoint(Duration((slice + 1) * width_.count()));
}

}  // namespace fairway::breaker
