#pragma once

#include <vector>

namespace fairway::sim::queueing {

// Closed forms of queueing theory that the simulator is checked against (Kleinrock, "Queueing
// Systems, Volume 1", 1975; Harchol-Balter, "Performance Modeling and Design of Computer Systems",
// 2013). Rates per second, times in seconds; every formula needs a stable queue (lambda < c × mu).

// M/M/1: mean response time (wait + service) 1 / (mu - lambda).
double mm1ResponseTime(double lambda, double mu);

// M/M/c, Erlang's C formula: the probability that an arrival waits. Computed through the Erlang B
// recursion, stable for large c.
double erlangC(int servers, double lambda, double mu);

// M/M/c: mean wait in the queue, C(c, lambda/mu) / (c mu - lambda).
double mmcMeanWait(int servers, double lambda, double mu);

// M/G/1 (Pollaczek-Khinchine): mean wait rho × E[S] × (1 + scv) / (2 (1 - rho)), with scv the
// squared coefficient of variation of the service time.
double mg1MeanWait(double lambda, double meanService, double scv);

// The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1): the multiplier of a
// two-sided 95% confidence interval.
double studentT975(int df);

// A 95% confidence interval for the mean of independent, roughly normal samples (independent
// replications, or batch means): mean ± t(0.975, n-1) × s / sqrt(n). Needs n >= 2.
struct Interval {
  double mean = 0;
  double halfWidth = 0;
  double low() const { return mean - halfWidth; }
  double high() const { return mean + halfWidth; }
};
Interval confidenceInterval95(const std::vector<double>& samples);

}  // namespace fairway::sim::queueing
