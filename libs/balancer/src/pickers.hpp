#pragma once

// The algorithms, private to the library; Balancer and make() reach them through these factories.

#include <memory>

#include <fairway/balancer/config.hpp>
#include <fairway/balancer/endpoint.hpp>
#include <fairway/balancer/picker.hpp>

namespace fairway::balancer {

// Lets the pickers update the latency state that Endpoint keeps private.
class EndpointAccess {
 public:
  // Records one latency observation (Finagle's PeakEwma::observe): jump to a higher value,
  // otherwise decay towards it with time constant `decay`.
  static void observeLatency(Endpoint& endpoint, const Completion& completion,
                             std::chrono::nanoseconds decay);
  // The EWMA decayed to `now` as if a zero latency had been seen (Finagle reads cost this way).
  static double decayedLatencyNs(const Endpoint& endpoint, TimePoint now,
                                 std::chrono::nanoseconds decay);
};

std::unique_ptr<Picker> makeRoundRobin();
std::unique_ptr<Picker> makeSmoothWeighted();
std::unique_ptr<Picker> makeLeastConnections();
std::unique_ptr<Picker> makeWeightedRandom();
std::unique_ptr<Picker> makePowerOfTwo();
std::unique_ptr<Picker> makeRingHash(const HashConfig& config);
std::unique_ptr<Picker> makePeakEwma(const EwmaConfig& config);

}  // namespace fairway::balancer
