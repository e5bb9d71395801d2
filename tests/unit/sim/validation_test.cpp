// The simulator against queueing theory: M/M/1 mean response time, M/M/c waiting probability and
// mean wait (Erlang C), random routing to N M/M/1 queues. Each figure is estimated from
// independent replications (different seeds, warm-up discarded) and the whole 95% confidence
// interval must lie within 2% of the closed form.

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/sim/queueing.hpp>

#include "test_util.hpp"

namespace fairway::sim {
namespace {

using namespace testing;
namespace q = queueing;

constexpr int kReplications = 20;

// Asserts that the 95% interval of `samples` lies within `tolerance` (relative) of `expected`.
void expectWithin(const std::vector<double>& samples, double expected, double tolerance,
                  const char* what) {
  const q::Interval ci = q::confidenceInterval95(samples);
  SCOPED_TRACE(what);
  // Printed for docs/simulation.md.
  std::printf("  %s: %.6g ± %.3g (95%%, %zu replications), theory %.6g, error %+.2f%%\n", what,
              ci.mean, ci.halfWidth, samples.size(), expected,
              100.0 * (ci.mean - expected) / expected);
  EXPECT_GE(ci.low(), expected * (1 - tolerance))
      << "mean " << ci.mean << " ± " << ci.halfWidth << ", theory " << expected;
  EXPECT_LE(ci.high(), expected * (1 + tolerance))
      << "mean " << ci.mean << " ± " << ci.halfWidth << ", theory " << expected;
}

TEST(QueueingFormulas, MatchTextbookValues) {
  EXPECT_DOUBLE_EQ(q::mm1ResponseTime(50, 100), 0.02);
  // Erlang C for 2.8 Erlangs on 4 servers (Harchol-Balter ch. 14 style hand computation).
  EXPECT_NEAR(q::erlangC(4, 280, 100), 0.42868, 1e-4);
  EXPECT_NEAR(q::mmcMeanWait(4, 280, 100), 0.42868 / 120, 1e-6);
  // One server: C is rho, and the wait is M/M/1's.
  EXPECT_NEAR(q::erlangC(1, 70, 100), 0.7, 1e-12);
  EXPECT_NEAR(q::mmcMeanWait(1, 70, 100), 0.7 / 30, 1e-12);
  // M/G/1 with exponential service (scv 1) is M/M/1's wait.
  EXPECT_NEAR(q::mg1MeanWait(70, 0.01, 1.0), 0.7 / 30, 1e-12);
  EXPECT_NEAR(q::studentT975(19), 2.093, 1e-9);
  EXPECT_NEAR(q::studentT975(1000), 1.9623, 1e-3);
}

TEST(QueueingFormulas, ConfidenceIntervalOfKnownSamples) {
  const q::Interval ci = q::confidenceInterval95({1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(ci.mean, 3);
  EXPECT_NEAR(ci.halfWidth, 2.776 * std::sqrt(2.5) / std::sqrt(5.0), 1e-9);
}

// M/M/1 at rho = 0.5: mean response time 1 / (mu - lambda) = 2 ms.
TEST(Validation, MM1MeanResponseTime) {
  const double mu = 1000;  // 1 ms mean service
  const double lambda = 500;
  const Scenario s = queueScenario(1, 1, 1ms, lambda, 100s, 2s);
  std::vector<double> means;
  for (int i = 0; i < kReplications; ++i) {
    const Results r = run(s, "round_robin", 1000 + i);
    ASSERT_EQ(r.failures, 0u);
    means.push_back(r.success.mean / 1e3);  // seconds
  }
  expectWithin(means, q::mm1ResponseTime(lambda, mu), 0.02, "M/M/1 mean response time (s)");
}

// M/M/c with c = 4 at rho = 0.7: P(wait) = C(4, 2.8) = 0.4287, mean wait C / (c mu - lambda).
TEST(Validation, MMcErlangC) {
  const double mu = 1000;
  const double lambda = 2800;
  const int c = 4;
  const Scenario s = queueScenario(1, c, 1ms, lambda, 160s, 1s);
  std::vector<double> waitProbability;
  std::vector<double> meanWait;
  for (int i = 0; i < kReplications; ++i) {
    const Results r = run(s, "round_robin", 2000 + i);
    waitProbability.push_back(r.backends[0].waitProbability);
    meanWait.push_back(r.backends[0].meanWaitMs / 1e3);
  }
  expectWithin(waitProbability, q::erlangC(c, lambda, mu), 0.02, "M/M/c P(wait)");
  expectWithin(meanWait, q::mmcMeanWait(c, lambda, mu), 0.02, "M/M/c mean wait (s)");
}

// Random routing splits a Poisson stream into independent Poisson streams: N M/M/1 queues, each
// at lambda / N. Mean response time 1 / (mu - lambda / N), for every backend and overall.
TEST(Validation, RandomRoutingToNMM1) {
  const double mu = 1000;
  const int n = 4;
  const double lambda = 2400;  // 600 per backend, rho 0.6
  const Scenario s = queueScenario(n, 1, 1ms, lambda, 50s, 1s);
  std::vector<double> means;
  std::vector<double> shares;
  for (int i = 0; i < kReplications; ++i) {
    const Results r = run(s, "random", 3000 + i);
    means.push_back(r.success.mean / 1e3);
    shares.push_back(r.backends[0].loadShare);
  }
  expectWithin(means, q::mm1ResponseTime(lambda / n, mu), 0.02, "N x M/M/1 mean response (s)");
  expectWithin(shares, 1.0 / n, 0.02, "load share of one backend");
}

// Pollaczek-Khinchine for a deterministic server (M/D/1): the wait is half of M/M/1's.
TEST(Validation, MD1MeanWait) {
  const double lambda = 500;
  Scenario s = queueScenario(1, 1, 1ms, lambda, 100s, 1s);
  s.backends[0].service = Distribution::deterministic(1e6);
  std::vector<double> waits;
  for (int i = 0; i < kReplications; ++i) {
    const Results r = run(s, "round_robin", 4000 + i);
    waits.push_back(r.backends[0].meanWaitMs / 1e3);
  }
  expectWithin(waits, q::mg1MeanWait(lambda, 0.001, 0.0), 0.02, "M/D/1 mean wait (s)");
}

}  // namespace
}  // namespace fairway::sim
