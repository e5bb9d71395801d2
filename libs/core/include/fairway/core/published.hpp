#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include <fairway/core/random.hpp>

namespace fairway::core {
namespace detail {

// One thread's cached reference to one Published value.
struct PublishedSlot {
  std::uint64_t owner = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const void> value;
};
inline constexpr std::size_t kPublishedSlots = 16;
inline thread_local std::array<PublishedSlot, kPublishedSlots> publishedCache;
inline std::atomic<std::uint64_t> nextPublishedOwner{1};

}  // namespace detail

// An immutable value that writers replace now and then and many threads read on a hot path
// (read-copy-update). Each thread keeps its own reference to the latest value it saw, tagged with a
// generation, so a read costs one atomic load when nothing changed: no lock and no shared
// reference count bouncing between cores. The per-thread cache is direct-mapped over every
// Published in the process; a collision only sends a read through the mutex.
//
// A value lives while any thread's cache or any load() still holds it: an old value may outlive
// its replacement for as long as a thread does not read again. Values must not refer back to the
// object that publishes them.
template <typename T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial)
      : owner_(detail::nextPublishedOwner.fetch_add(1, std::memory_order_relaxed)) {
    publish(std::move(initial));
  }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // Replaces the value. Thread-safe; O(1).
  void publish(std::shared_ptr<const T> next) {
    std::lock_guard lock(mutex_);
    value_ = std::move(next);
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // The latest value. The reference stays valid until this thread's next read() of any Published.
  // Thread-safe; lock-free unless the value changed since this thread's last read.
  const T& read() const {
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    detail::PublishedSlot& slot =
        detail::publishedCache[Random::mix(owner_) % detail::kPublishedSlots];
    if (slot.owner != owner_ || slot.generation != generation) {
      std::lock_guard lock(mutex_);
      slot.owner = owner_;
      slot.value = value_;
      slot.generation = generation_.load(std::memory_order_relaxed);
    }
    return *static_cast<const T*>(slot.value.get());
  }

  // The latest value as an owning pointer, for holding across calls. Takes the mutex.
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  const std::uint64_t owner_;
  mutable std::mutex mutex_;  // guards value_; held only for pointer copies
  std::shared_ptr<const T> value_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace fairway::core
