#pragma once

// Shared by the balancer tests: building balancers, fixed instants, and counting picks.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fairway/balancer/balancer.hpp>

namespace fairway::balancer::test {

// Every test's timeline starts here; nothing reads a clock.
inline const TimePoint t0 = TimePoint(std::chrono::hours(1));

// A pick at `now` without a consistent-hash key, drawing from `random` (the balancer's own
// generator when null).
inline PickContext contextAt(TimePoint now, Random* random = nullptr) {
  PickContext context;
  context.now = now;
  context.random = random;
  return context;
}

// make() for configurations the test knows to be valid: a failure is a broken test.
inline std::unique_ptr<Balancer> makeOrDie(const Config& config) {
  auto result = make(config);
  if (!result) {
    std::fprintf(stderr, "make() failed: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

// Endpoints named by `ids`, with the given weights (1 each when `weights` is empty).
inline std::vector<EndpointConfig> endpointsNamed(const std::vector<std::string>& ids,
                                                  const std::vector<std::int64_t>& weights = {}) {
  std::vector<EndpointConfig> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out.push_back({ids[i], "10.0.0." + std::to_string(i + 1) + ":80",
                   weights.empty() ? 1 : weights[i], true});
  }
  return out;
}

// Endpoints "e0", "e1", ... with the given weights.
inline std::vector<EndpointConfig> endpointsWeighted(const std::vector<std::int64_t>& weights) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    ids.push_back("e" + std::to_string(i));
  }
  return endpointsNamed(ids, weights);
}

inline std::unique_ptr<Balancer> makeBalancer(const std::string& algorithm,
                                              std::vector<EndpointConfig> endpoints) {
  Config config;
  config.algorithm = algorithm;
  config.endpoints = std::move(endpoints);
  return makeOrDie(config);
}

// The id of one pick, released at once; "-" when there was nothing to pick.
inline std::string pickId(Balancer& balancer, const PickContext& context = {}) {
  const std::optional<Pick> pick = balancer.pick(context);
  if (!pick) {
    return "-";
  }
  std::string id = pick->endpoint->id();
  balancer.release(*pick);
  return id;
}

// The ids of `n` picks, each released at once, one after the other.
inline std::vector<std::string> pickIds(Balancer& balancer, int n,
                                        const PickContext& context = {}) {
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    ids.push_back(pickId(balancer, context));
  }
  return ids;
}

// The ids of `n` picks concatenated: for one-letter ids, "aabacaa".
inline std::string pickSequence(Balancer& balancer, int n, const PickContext& context = {}) {
  std::string sequence;
  for (const std::string& id : pickIds(balancer, n, context)) {
    sequence += id;
  }
  return sequence;
}

// How many of `n` picks, each released at once, went to each id.
inline std::map<std::string, int> countPicks(Balancer& balancer, int n,
                                             const PickContext& context = {}) {
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) {
    ++counts[pickId(balancer, context)];
  }
  return counts;
}

// Takes a lease on the next pick and keeps it; the caller releases it.
inline Pick hold(Balancer& balancer, const PickContext& context = {}) {
  const std::optional<Pick> pick = balancer.pick(context);
  if (!pick) {
    std::fprintf(stderr, "hold(): nothing to pick\n");
    std::abort();
  }
  return *pick;
}

// The status of the endpoint `id`, or a default (inFlight 0, weight 0) one with an empty id.
inline EndpointStatus statusOf(const Balancer& balancer, std::string_view id) {
  for (EndpointStatus& status : balancer.endpoints()) {
    if (status.id == id) {
      return status;
    }
  }
  return {};
}

// Five standard deviations of a Binomial(n, p) count: a fair count strays further than this from
// n × p with probability below 1e-6.
inline double binomialBound(int n, double p) {
  return 5.0 * std::sqrt(static_cast<double>(n) * p * (1.0 - p));
}

}  // namespace fairway::balancer::test
