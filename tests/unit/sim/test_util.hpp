#pragma once

#include <chrono>
#include <string>

#include <fairway/sim/scenario.hpp>
#include <fairway/sim/simulation.hpp>

namespace fairway::sim::testing {

using namespace std::chrono_literals;

// A scenario of `backends` identical backends of `servers` servers each, exponential service of
// mean `service`, Poisson arrivals at `rate` per second, no policies beyond the balancer: the
// textbook queue, for checks against theory.
inline Scenario queueScenario(int backends, int servers, Duration service, double rate,
                              Duration duration, Duration warmup) {
  Scenario s;
  s.name = "queue";
  s.duration = duration;
  s.warmup = warmup;
  for (int i = 0; i < backends; ++i) {
    BackendSpec b;
    b.id = "b" + std::to_string(i + 1);
    b.servers = servers;
    b.queue = 1'000'000'000;  // effectively unbounded
    b.service = Distribution::exponential(static_cast<double>(service.count()));
    s.backends.push_back(b);
  }
  SourceSpec source;
  source.kind = SourceSpec::Kind::kPoisson;
  source.rate = rate;
  s.traffic.push_back(source);
  return s;
}

// simulate() that must succeed.
inline Results run(const Scenario& scenario, const std::string& algorithm = "round_robin",
                   std::uint64_t seed = 1) {
  auto result = simulate(scenario, {.algorithm = algorithm, .seed = seed, .progress = {}});
  if (!result) {
    throw std::runtime_error(result.error().message);
  }
  return std::move(result).value();
}

}  // namespace fairway::sim::testing
