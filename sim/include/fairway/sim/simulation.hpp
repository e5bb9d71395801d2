#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <fairway/sim/results.hpp>
#include <fairway/sim/scenario.hpp>
#include <fairway/sim/status.hpp>

namespace fairway::sim {

struct RunOptions {
  // The balancer algorithm for this run (any name balancer::make() accepts); empty: the
  // scenario's balancer.algorithm.
  std::string algorithm;
  // Overrides the scenario's seed.
  std::optional<std::uint64_t> seed;
  // Called now and then (every 65,536 events) with the share of the scenario's duration
  // simulated so far, in [0, 1]. Must not throw.
  std::function<void(double done)> progress;
};

// Runs `scenario` once with one balancer algorithm, from virtual time zero until every request
// that arrived before the scenario's duration has been answered, and returns what it measured.
//
// The policies are the libraries' own, wired as the proxy wires them: each attempt goes to
// balancer::Balancer::pick() among the available backends — available meaning active health
// checks say up (health::HealthChecker, probes simulated on the schedule it asks for), outlier
// detection has not ejected it (health::OutlierDetector, fed every outcome) and its breaker is not
// open (breaker::Breaker, one per backend, fed every outcome, re-admitted for half-open probes when
// its interval ends) — then through the rate limiter (ratelimit::make) and the cache
// (cache::MemoryStore and cache::Policy) when the scenario has them.
//
// Deterministic: the same scenario, algorithm and seed give the same Results, bit for bit. Single
// threaded; never reads a clock. Errors: the algorithm is unknown, a policy configuration is
// invalid, a replay file cannot be read or has a bad line (named by line number).
Result<Results> simulate(const Scenario& scenario, const RunOptions& options = {});

}  // namespace fairway::sim
