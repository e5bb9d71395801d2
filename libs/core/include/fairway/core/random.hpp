#pragma once

#include <cstdint>
#include <string_view>

namespace fairway::core {

// 128-bit products for exact weight comparisons and bounded random numbers (GCC and Clang).
__extension__ typedef unsigned __int128 Uint128;

// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator. Not thread-safe: give
// each thread (each proxy worker, each simulated world) its own. Same seed, same sequence,
// everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed = 0) : state_(seed) {}

  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }

  // Uniform in [0, bound); bound > 0. Lemire's multiply-shift: no division, bias below 2^-32
  // for bounds under 2^32.
  std::uint64_t below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<Uint128>(next()) * bound) >> 64);
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // The SplitMix64 finaliser: a bijective 64-bit mixer.
  static constexpr std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// A 64-bit hash of a key for consistent hashing (FNV-1a, then the SplitMix64 finaliser so that
// similar keys spread over the whole ring). Stable across platforms and releases.
constexpr std::uint64_t hashKey(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Random::mix(h);
}

}  // namespace fairway::core
