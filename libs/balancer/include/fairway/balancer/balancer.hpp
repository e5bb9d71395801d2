#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fairway/balancer/config.hpp>
#include <fairway/balancer/endpoint.hpp>
#include <fairway/balancer/picker.hpp>
#include <fairway/balancer/status.hpp>
#include <fairway/core/published.hpp>

namespace fairway::balancer {

// A thread-safe, changing set of endpoints and one algorithm that picks among them.
//
// Picks are lock-free for round_robin, random, p2c, consistent_hash and peak_ewma, and take one
// short lock for weighted_round_robin and least_connections. Membership changes (add, remove,
// reweight, availability) are serialised, cost O(n) (O(n log n) when a hash ring is rebuilt) and
// never block picks: each publishes a new immutable Snapshot. In-flight counts live on the
// endpoints, so no change loses them; a removed endpoint stays alive until its last lease ends.
//
// No method reads a clock: time arrives as `now`.
class Balancer {
 public:
  // Use make(), which validates; this constructor trusts `config`. Its endpoints join at full
  // weight (no slow start).
  Balancer(Config config, std::unique_ptr<Picker> prototype);
  // Every lease must be released before the balancer is destroyed.
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Membership. Errors: kInvalidArgument (empty id), kInvalidWeight, kDuplicateId, kNotFound.
  // An endpoint that joins available, or becomes available again, slow-starts from `now`.
  Status add(const EndpointConfig& endpoint, TimePoint now);
  Status remove(std::string_view id);
  Status setWeight(std::string_view id, std::int64_t weight);
  Status setAvailable(std::string_view id, bool available, TimePoint now);

  // Chooses an endpoint and counts the request in flight there, or nullopt when there is no
  // endpoint to choose (empty set, none available, or panic mode `fail`).
  std::optional<Pick> pick(const PickContext& context);

  // Ends a lease from pick(): exactly once per pick, from any thread.
  void release(const Pick& pick, const Completion& completion = {});

  // Recomputes slow-start weights at `now` (pick() does this on its own when a step is due).
  void refresh(TimePoint now);

  std::vector<EndpointStatus> endpoints() const;
  std::size_t size() const;
  const Config& config() const { return config_; }
  // True when the latest snapshot is in panic mode.
  bool panicking() const;

 private:
  const Snapshot& current() const;
  void addLocked(const EndpointConfig& endpoint, std::optional<TimePoint> joinedAt);
  void publishLocked(std::optional<TimePoint> at);
  std::shared_ptr<Endpoint> findLocked(std::string_view id) const;

  const Config config_;

  mutable std::mutex updateMutex_;  // serialises changes
  std::vector<std::shared_ptr<Endpoint>> members_;
  std::unordered_map<std::string, std::size_t> indexById_;
  std::vector<std::shared_ptr<Endpoint>> draining_;  // removed, maybe still leased
  std::uint64_t membershipVersion_ = 0;
  TimePoint lastNow_{};  // the latest instant any change or refresh brought
  std::unique_ptr<Picker> prototype_;

  std::shared_ptr<const Snapshot> latest_;  // what published_ holds, for writers
  core::Published<Snapshot> published_;     // what picks read
  std::atomic<Clock::rep> refreshAt_;       // next slow-start step, or max
  std::atomic<std::uint64_t> randomState_;
};

// Builds a balancer for `config`: the algorithm by name and the initial endpoints. Errors name the
// offending field: kUnknownAlgorithm, kInvalidArgument, kInvalidWeight, kDuplicateId.
Result<std::unique_ptr<Balancer>> make(const Config& config);

}  // namespace fairway::balancer
