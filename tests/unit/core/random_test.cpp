#include <array>
#include <cmath>

#include <gtest/gtest.h>

#include <fairway/core/random.hpp>

namespace fairway::core {
namespace {

// Same seed, same sequence; another seed, another sequence.
TEST(RandomTest, SeedDeterminesTheSequence) {
  Random a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

// below(n) stays in [0, n) and is close to uniform (each bucket within 5 sigma over 100k draws).
TEST(RandomTest, BelowIsBoundedAndUniform) {
  Random random(7);
  std::array<int, 10> counts{};
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const auto v = random.below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  const double sigma = std::sqrt(kDraws * 0.1 * 0.9);
  for (int c : counts) {
    EXPECT_NEAR(c, kDraws / 10, 5 * sigma);
  }
  for (int i = 0; i < 1000; ++i) {
    const double u = random.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// hashKey is stable across runs and releases (consistent hashing depends on it).
TEST(RandomTest, HashKeyIsStable) {
  EXPECT_EQ(hashKey("user-42"), hashKey("user-42"));
  EXPECT_NE(hashKey("user-42"), hashKey("user-43"));
  static_assert(hashKey("") == Random::mix(0xcbf29ce484222325ULL));
}

}  // namespace
}  // namespace fairway::core
