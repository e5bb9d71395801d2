#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <fairway/balancer/endpoint.hpp>
#include <fairway/balancer/random.hpp>

namespace fairway::balancer {

// What a pick needs to know about the request.
struct PickContext {
  TimePoint now{};  // drives slow start and latency decay; never read from a clock
  std::optional<std::uint64_t> hash;  // consistent_hash key, e.g. hashKey(clientAddress)
  Random* random = nullptr;  // the caller's generator (one per thread); null: the balancer's
};

// A lease on one endpoint: its in-flight count includes this request until Balancer::release().
struct Pick {
  Endpoint* endpoint = nullptr;
  std::uint64_t generation = 0;  // the snapshot the pick came from
  std::uint32_t candidate = 0;   // its index among that snapshot's candidates
};

// How a picked request ended, for latency-aware algorithms.
struct Completion {
  TimePoint now{};
  std::chrono::nanoseconds latency{0};
};

// One candidate for picks: an endpoint and its effective weight (weight × kWeightScale, after slow
// start), an integer so that weighted sequences are exact.
struct Candidate {
  Endpoint* endpoint;
  std::uint64_t weight;
};
inline constexpr std::uint64_t kWeightScale = 1000;

class Picker;

// The endpoint set at one moment: immutable once published, shared by concurrent picks.
struct Snapshot {
  std::uint64_t generation = 0;
  std::uint64_t membershipVersion = 0;  // changes on add, remove and reweight, not on availability
  std::vector<std::shared_ptr<Endpoint>> members;  // every endpoint, in insertion order
  std::vector<std::int64_t> weights;               // configured weight of each member
  std::vector<Candidate> candidates;               // what picks choose from
  std::vector<std::int32_t> candidateOfMember;     // member index -> candidate index, or -1
  std::uint64_t totalWeight = 0;                   // sum of candidate weights
  bool uniformWeights = true;                      // all candidate weights equal
  bool panic = false;                              // candidates include unavailable endpoints
  std::unique_ptr<Picker> picker;                  // built for this snapshot
};

// The seam every algorithm implements (Envoy's LoadBalancer::chooseHost plays this role). A picker
// is built for one snapshot and answers picks on it; Balancer handles membership, slow start, panic
// mode, in-flight counts and publication around it.
class Picker {
 public:
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

  virtual ~Picker() = default;

  // Builds the picker for `next`, carrying over what should outlive a change (a round-robin
  // position, a hash ring when only availability changed). `next` outlives the result. Called
  // under the balancer's update lock, never concurrently with itself; picks and releases on this
  // picker may run meanwhile.
  virtual std::unique_ptr<Picker> rebuild(const Snapshot& next) const = 0;

  // Index of the chosen candidate, or kNone. `candidates` is non-empty. Thread-safe; O(1) or
  // O(log n) per algorithm (see docs/algorithms.md). Never reads a clock.
  virtual std::size_t pick(const PickContext& context, Random& random) = 0;

  // A request picked from this or an earlier snapshot has ended; its endpoint's in-flight count is
  // decremented after this returns. Thread-safe.
  virtual void release(const Pick& pick, const Completion& completion) {
    (void)pick;
    (void)completion;
  }
};

}  // namespace fairway::balancer
