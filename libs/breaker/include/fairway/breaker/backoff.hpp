#pragma once

#include <cstdint>

#include <fairway/breaker/config.hpp>
#include <fairway/core/random.hpp>

namespace fairway::breaker {

using core::Random;

// The open intervals of consecutive trips: base, base × multiplier, base × multiplier², ...
// capped at max, each jittered as configured with the breaker's own seeded generator.
//
// A plain value, not thread-safe: Breaker uses it under its lock. Same seed, same intervals.
class Backoff {
 public:
  // Precondition: `config` passed validate().
  Backoff(const BackoffConfig& config, std::uint64_t seed);

  // The open interval for the next trip, jittered; counts the trip (the exponent grows by one).
  Duration next();

  // The interval the next trip would get before jitter: min(max, base × multiplier^trips()).
  Duration ceiling() const;

  // Consecutive trips so far: the exponent of the next interval.
  std::int64_t trips() const { return trips_; }

  // Back to the first interval (after a healthy period).
  void reset();

 private:
  BackoffConfig config_;
  Random random_;
  std::int64_t trips_ = 0;
  double ceilingNs_;  // the un-jittered interval of the next trip, <= max
};

}  // namespace fairway::breaker
