#include <cmath>
#include <vector>

#include <fairway/sim/queueing.hpp>

namespace fairway::sim::queueing {

double mm1ResponseTime(double lambda, double mu) {
  return 1.0 / (mu - lambda);
}

double erlangC(int servers, double lambda, double mu) {
  const double a = lambda / mu;  // offered load in Erlangs
  // Erlang B by its recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), then C from B.
  double b = 1.0;
  for (int k = 1; k <= servers; ++k) {
    b = a * b / (k + a * b);
  }
  const double rho = a / servers;
  return b / (1.0 - rho + rho * b);
}

double mmcMeanWait(int servers, double lambda, double mu) {
  return erlangC(servers, lambda, mu) / (servers * mu - lambda);
}

double mg1MeanWait(double lambda, double meanService, double scv) {
  const double rho = lambda * meanService;
  return rho * meanService * (1.0 + scv) / (2.0 * (1.0 - rho));
}

double studentT975(int df) {
  // Exact table to 30 degrees of freedom, then the Cornish-Fisher expansion around the normal
  // quantile (error below 1e-4 from there on).
  static constexpr double kTable[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                      2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                      2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                      2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) {
    df = 1;
  }
  if (df <= 30) {
    return kTable[df];
  }
  const double z = 1.959963984540054;
  const double n = df;
  const double z3 = z * z * z;
  const double z5 = z3 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n);
}

Interval confidenceInterval95(const std::vector<double>& samples) {
  const auto n = samples.size();
  if (n == 0) {
    return {};
  }
  double mean = 0;
  for (double x : samples) {
    mean += x;
  }
  mean /= static_cast<double>(n);
  if (n < 2) {
    return {mean, 0};
  }
  double ss = 0;
  for (double x : samples) {
    ss += (x - mean) * (x - mean);
  }
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  return {mean, studentT975(static_cast<int>(n - 1)) * sd / std::sqrt(static_cast<double>(n))};
}

}  // namespace fairway::sim::queueing
