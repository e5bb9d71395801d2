#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/core/published.hpp>

namespace fairway::core {
namespace {

// A read sees the latest published value, on this thread and on others.
TEST(PublishedTest, ReadSeesTheLatestValue) {
  Published<int> value(std::make_shared<const int>(1));
  EXPECT_EQ(value.read(), 1);
  value.publish(std::make_shared<const int>(2));
  EXPECT_EQ(value.read(), 2);
  int seen = 0;
  std::thread([&] { seen = value.read(); }).join();
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(*value.load(), 2);
}

// Two Published values that share a per-thread cache slot still read their own values.
TEST(PublishedTest, ManyValuesDoNotMixUp) {
  std::vector<std::unique_ptr<Published<int>>> values;
  for (int i = 0; i < 64; ++i) {
    values.push_back(std::make_unique<Published<int>>(std::make_shared<const int>(i)));
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 64; ++i) {
      ASSERT_EQ(values[static_cast<std::size_t>(i)]->read(), i);
    }
  }
}

// A replaced value stays alive while a thread's cache still refers to it, and is freed once no
// thread reads it any more.
TEST(PublishedTest, ReplacedValueLivesUntilNoReaderHoldsIt) {
  auto first = std::make_shared<const int>(1);
  std::weak_ptr<const int> watch = first;
  Published<int> value(std::move(first));
  const int& held = value.read();  // this thread's cache holds the first value
  value.publish(std::make_shared<const int>(2));
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(held, 1);
  EXPECT_EQ(value.read(), 2);  // the cache moves on and lets the first value go
  EXPECT_TRUE(watch.expired());
}

// Readers on two threads and a writer never see a value that was not published (run under ASan
// and TSan in CI's sanitizer builds).
TEST(PublishedTest, ConcurrentReadersAndWriter) {
  Published<int> value(std::make_shared<const int>(0));
  std::atomic<bool> bad{false};
  std::latch start(3);
  auto reader = [&] {
    start.arrive_and_wait();
    int last = 0;
    for (int i = 0; i < 200000; ++i) {
      const int v = value.read();
      if (v < last || v > 1000) {
        bad = true;
      }
      last = v;
    }
  };
  std::thread a(reader), b(reader);
  start.arrive_and_wait();
  for (int i = 1; i <= 1000; ++i) {
    value.publish(std::make_shared<const int>(i));
  }
  a.join();
  b.join();
  EXPECT_FALSE(bad);
}

}  // namespace
}  // namespace fairway::core
