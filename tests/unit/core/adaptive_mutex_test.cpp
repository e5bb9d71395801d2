#include <cstdint>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/core/adaptive_mutex.hpp>

namespace fairway::core {
namespace {

// Uncontended, the lock can be taken and released again and again, also through std::unique_lock.
TEST(AdaptiveMutexTest, LocksAndUnlocks) {
  AdaptiveMutex mutex;
  for (int i = 0; i < 3; ++i) {
    std::lock_guard guard(mutex);
  }
  std::unique_lock lock(mutex);
  lock.unlock();
  lock.lock();
  EXPECT_TRUE(lock.owns_lock());
}

// Mutual exclusion: two threads incrementing a plain counter 200,000 times each under the lock
// lose no increment, whether waiters spin or sleep (a longer section forces the sleeping path).
TEST(AdaptiveMutexTest, ExcludesConcurrentSections) {
  for (const int work : {0, 200}) {
    AdaptiveMutex mutex;
    std::uint64_t counter = 0;
    std::uint64_t scratch = 0;
    std::latch start(2);
    std::vector<std::thread> threads;
    threads.reserve(2);
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < 200'000; ++i) {
          std::lock_guard guard(mutex);
          ++counter;
          for (int w = 0; w < work; ++w) {
            scratch = scratch * 31 + static_cast<std::uint64_t>(w);
          }
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
    EXPECT_EQ(counter, 400'000U) << "work " << work << ", scratch " << scratch;
  }
}

}  // namespace
}  // namespace fairway::core
