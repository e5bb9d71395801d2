#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <fairway/core/random.hpp>

namespace fairway::sim {

using core::Random;

// A distribution of positive durations (service times, think times) or sizes, given by its mean
// and, for the heavy-tailed kinds, a shape. A plain value; sample() draws from the caller's
// generator, so the same generator state gives the same value on every platform (no <random>
// distributions, whose algorithms the standard leaves to the implementation).
struct Distribution {
  enum class Kind : std::uint8_t {
    kDeterministic,  // always `mean`
    kExponential,    // rate 1/mean (memoryless: M in Kendall's notation)
    kLognormal,      // exp(N(mu, sigma²)) with mu = ln(mean) - sigma²/2; `shape` is sigma
    kPareto,         // Pareto type I, shape alpha = `shape` > 1, scale mean × (alpha - 1) / alpha
  };

  Kind kind = Kind::kDeterministic;
  double mean = 0;   // > 0 for the random kinds
  double shape = 0;  // lognormal sigma (> 0), Pareto alpha (> 1); unused otherwise

  static Distribution deterministic(double mean) { return {Kind::kDeterministic, mean, 0}; }
  static Distribution exponential(double mean) { return {Kind::kExponential, mean, 0}; }
  static Distribution lognormal(double mean, double sigma) {
    return {Kind::kLognormal, mean, sigma};
  }
  static Distribution pareto(double mean, double alpha) { return {Kind::kPareto, mean, alpha}; }

  // One draw, >= 0. O(1): one or two uniforms and a log/exp.
  double sample(Random& random) const {
    switch (kind) {
      case Kind::kDeterministic:
        return mean;
      case Kind::kExponential:
        return -mean * std::log(openUniform(random));
      case Kind::kLognormal: {
        // Box-Muller, one of the pair (keeping the other would make sample() stateful).
        const double r = std::sqrt(-2.0 * std::log(openUniform(random)));
        const double z = r * std::cos(6.283185307179586 * random.uniform());
        const double mu = std::log(mean) - 0.5 * shape * shape;
        return std::exp(mu + shape * z);
      }
      case Kind::kPareto: {
        const double scale = mean * (shape - 1.0) / shape;
        return scale * std::pow(openUniform(random), -1.0 / shape);
      }
    }
    return mean;
  }

  // The squared coefficient of variation, Var/mean² (0, 1, exp(sigma²) - 1, 1/(alpha(alpha-2))
  // or infinity for alpha <= 2): what the Pollaczek-Khinchine formula needs.
  double scv() const;

  // "exponential(mean 10ms)", for tables and reports; durations when `asDuration`.
  std::string describe(bool asDuration = true) const;

  // Uniform in (0, 1]: never 0, so its log is finite.
  static double openUniform(Random& random) { return 1.0 - random.uniform(); }
};

// Key ranks 0..n-1 with P(k) proportional to (k + 1)^-exponent (Zipf; exponent 0 is uniform), by
// rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to generate variates from
// monotone discrete distributions", 1996), as Apache Commons RNG's RejectionInversionZipfSampler:
// O(1) per draw and no table, whatever n.
class ZipfSampler {
 public:
  // n >= 1, exponent >= 0.
  ZipfSampler(std::uint64_t n, double exponent);

  std::uint64_t sample(Random& random) const;
  std::uint64_t size() const { return n_; }
  double exponent() const { return exponent_; }

 private:
  double h(double x) const;
  double hIntegral(double x) const;
  double hIntegralInverse(double x) const;

  std::uint64_t n_;
  double exponent_;
  double hIntegralX1_ = 0;
  double hIntegralN_ = 0;
  double s_ = 0;
};

}  // namespace fairway::sim
