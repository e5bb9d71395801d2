#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include <fairway/sim/distribution.hpp>
#include <fairway/sim/scenario.hpp>

namespace fairway::sim {

double Distribution::scv() const {
  switch (kind) {
    case Kind::kDeterministic:
      return 0.0;
    case Kind::kExponential:
      return 1.0;
    case Kind::kLognormal:
      return std::expm1(shape * shape);
    case Kind::kPareto:
      return shape <= 2.0 ? std::numeric_limits<double>::infinity() : 1.0 / (shape * (shape - 2.0));
  }
  return 0.0;
}

std::string Distribution::describe(bool asDuration) const {
  const std::string m =
      asDuration ? formatDuration(Duration(static_cast<std::int64_t>(std::llround(mean))))
                 : std::to_string(static_cast<long long>(std::llround(mean)));
  char shapeText[32];
  std::snprintf(shapeText, sizeof shapeText, "%g", shape);
  switch (kind) {
    case Kind::kDeterministic:
      return "deterministic(" + m + ")";
    case Kind::kExponential:
      return "exponential(mean " + m + ")";
    case Kind::kLognormal:
      return "lognormal(mean " + m + ", sigma " + shapeText + ")";
    case Kind::kPareto:
      return "pareto(mean " + m + ", alpha " + shapeText + ")";
  }
  return m;
}

namespace {

// log1p(x) / x and expm1(x) / x, accurate near 0 (Apache Commons RNG's helper1 and helper2).
double helper1(double x) {
  if (std::abs(x) > 1e-8) {
    return std::log1p(x) / x;
  }
  return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

double helper2(double x) {
  if (std::abs(x) > 1e-8) {
    return std::expm1(x) / x;
  }
  return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

}  // namespace

ZipfSampler::ZipfSampler(std::uint64_t n, double exponent)
    : n_(n < 1 ? 1 : n), exponent_(exponent < 0 ? 0 : exponent) {
  if (exponent_ > 0) {
    hIntegralX1_ = hIntegral(1.5) - 1.0;
    hIntegralN_ = hIntegral(static_cast<double>(n_) + 0.5);
    s_ = 2.0 - hIntegralInverse(hIntegral(2.5) - h(2.0));
  }
}

double ZipfSampler::h(double x) const {
  return std::exp(-exponent_ * std::log(x));
}

double ZipfSampler::hIntegral(double x) const {
  const double logX = std::log(x);
  return helper2((1.0 - exponent_) * logX) * logX;
}

double ZipfSampler::hIntegralInverse(double x) const {
  double t = x * (1.0 - exponent_);
  if (t < -1.0) {
    t = -1.0;  // rounding errors only
  }
  return std::exp(helper1(t) * x);
}

std::uint64_t ZipfSampler::sample(Random& random) const {
  if (exponent_ == 0 || n_ == 1) {
    return random.below(n_);
  }
  const double n = static_cast<double>(n_);
  for (;;) {
    const double u = hIntegralN_ + random.uniform() * (hIntegralX1_ - hIntegralN_);
    const double x = hIntegralInverse(u);
    double k = std::floor(x + 0.5);
    if (k < 1.0) {
      k = 1.0;
    } else if (k > n) {
      k = n;
    }
    if (k - x <= s_ || u >= hIntegral(k + 0.5) - h(k)) {
      return static_cast<std::uint64_t>(k) - 1;
    }
  }
}

}  // namespace fairway::sim
