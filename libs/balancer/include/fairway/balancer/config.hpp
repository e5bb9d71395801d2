#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fairway/balancer/endpoint.hpp>

namespace fairway::balancer {

// Slow start (HAProxy `slowstart`, Envoy `slow_start_config`): an endpoint that joins or comes back
// gets weight × max(minWeightPercent/100, (t/window)^(1/aggression)) for t in [0, window).
// Applies to the weighted algorithms (weighted_round_robin, least_connections, random, p2c,
// peak_ewma); round_robin ignores weights and consistent_hash keeps key affinity instead.
struct SlowStartConfig {
  std::chrono::nanoseconds window{0};  // 0 disables slow start
  double aggression = 1.0;             // > 0; 1 is linear
  double minWeightPercent = 10.0;      // (0, 100]
  int steps = 20;                      // weights are recomputed window/steps apart, >= 1
};

// Panic mode (Envoy `healthy_panic_threshold`): when fewer than `threshold` (a share in [0, 1]) of
// the endpoints are available, either balance across all of them, available or not, or fail.
struct PanicConfig {
  enum class Mode { kBalanceAll, kFail };
  double threshold = 0.0;  // 0 disables panic handling
  Mode mode = Mode::kBalanceAll;
};

// consistent_hash: a ketama-style ring with optional bounded load (Mirrokni, Thorup, Zadimoghaddam,
// "Consistent Hashing with Bounded Loads", 2018; HAProxy `hash-balance-factor`).
struct HashConfig {
  int pointsPerEndpoint = 160;  // ring points for the heaviest endpoint, in [1, 4096]
  // 0 disables bounded load; otherwise > 1.0: no endpoint takes more than
  // ceil(balanceFactor × (in-flight + 1) × its weight share) requests at once.
  double balanceFactor = 0.0;
};

// peak_ewma (Finagle's PeakEwma, Linkerd's): cost = ewma(latency) × (in-flight + 1) / weight,
// compared between two random candidates. The EWMA jumps to any higher observation and decays
// with time constant `decay`.
struct EwmaConfig {
  std::chrono::nanoseconds decay = std::chrono::seconds(10);
  // Cost of an endpoint without observations while it has requests in flight (Finagle's penalty).
  std::chrono::nanoseconds penalty = std::chrono::seconds(1);
};

struct Config {
  // round_robin, weighted_round_robin, least_connections, random, p2c (alias least_request),
  // consistent_hash, peak_ewma.
  std::string algorithm = "round_robin";
  std::vector<EndpointConfig> endpoints;  // the initial set; these do not slow-start
  SlowStartConfig slowStart;
  PanicConfig panic;
  HashConfig hash;
  EwmaConfig ewma;
  // Seeds the balancer's own generator, used when a pick brings no Random of its own.
  std::uint64_t seed = 0x5eed;
};

// The algorithm names make() accepts, canonical names first.
const std::vector<std::string>& algorithmNames();

}  // namespace fairway::balancer
