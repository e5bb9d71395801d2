#pragma once

#include <atomic>
#include <cstdint>

namespace fairway::core {

// A mutex for critical sections of a few nanoseconds (Drepper, "Futexes Are Tricky", 2011, mutex
// #2, with a bounded spin first, as glibc's PTHREAD_MUTEX_ADAPTIVE_NP). Uncontended, lock and
// unlock are one atomic read-modify-write each and inline; contended, a waiter spins briefly, since
// the holder is about to leave, then blocks in the kernel through std::atomic::wait (a futex on
// Linux) so that a descheduled holder does not burn the other core. std::mutex sleeps on the first
// contention, which on a lock held for ~10 ns costs microseconds. Not recursive; meets
// BasicLockable for std::unique_lock and std::lock_guard.
class AdaptiveMutex {
 public:
  void lock() {
    std::uint32_t expected = kFree;
    if (!state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      lockContended();
    }
  }

  void unlock() {
    if (state_.exchange(kFree, std::memory_order_release) == kLockedWithWaiters) {
      state_.notify_one();
    }
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kLockedWithWaiters = 2;
  // About a microsecond of spinning: dozens of the breaker's critical sections.
  static constexpr int kSpins = 64;

  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  void lockContended() {
    for (int i = 0; i < kSpins; ++i) {
      relax();
      std::uint32_t expected = kFree;
      if (state_.load(std::memory_order_relaxed) == kFree &&
          state_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    // Announce a waiter, then sleep until the holder's unlock() wakes us; whoever takes the lock
    // from here on marks it kLockedWithWaiters, which may cost one spurious notify, never a
    // missed one.
    while (state_.exchange(kLockedWithWaiters, std::memory_order_acquire) != kFree) {
      state_.wait(kLockedWithWaiters, std::memory_order_relaxed);
    }
  }

  std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace fairway::core
