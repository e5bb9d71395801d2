#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/core/published.hpp>
#include <fairway/health/config.hpp>
#include <fairway/health/observer.hpp>
#include <fairway/health/status.hpp>
#include <fairway/health/time.hpp>

namespace fairway::health {

class Notifier;

// How one proxied request ended, as far as its endpoint is concerned.
struct Outcome {
  enum class Kind : std::uint8_t {
    kResponse,        // the endpoint answered with `status`
    kConnectFailure,  // no connection could be made
    kTimeout,         // no (complete) response in time
    kReset,           // the connection broke before the response was complete
  };

  Kind kind = Kind::kResponse;
  int status = 200;  // the HTTP status, for kResponse

  static constexpr Outcome response(int status) { return {Kind::kResponse, status}; }
  static constexpr Outcome connectFailure() { return {Kind::kConnectFailure, 0}; }
  static constexpr Outcome timeout() { return {Kind::kTimeout, 0}; }
  static constexpr Outcome reset() { return {Kind::kReset, 0}; }

  // A server error: any 5xx, or a local-origin failure (Envoy maps those to 503 and 504).
  constexpr bool isServerError() const {
    return kind != Kind::kResponse || (status >= 500 && status <= 599);
  }
  // A gateway failure: 502, 503, 504, or a local-origin failure.
  constexpr bool isGatewayFailure() const {
    return kind != Kind::kResponse || status == 502 || status == 503 || status == 504;
  }
};

// One endpoint's outlier state, for observability.
struct OutlierStatus {
  std::string id;
  bool ejected = false;
  TimePoint ejectedUntil{};  // while ejected
  // Ejections counted towards the next ejection's length (base × (multiplier + 1), capped): grows
  // by one per ejection, up to ceil(max / base), and drops by one per interval spent un-ejected.
  int multiplier = 0;
  std::uint64_t ejections = 0;  // ever
  int consecutive5xx = 0;
  int consecutiveGatewayFailures = 0;
  std::uint64_t windowRequests = 0;  // in the current failure-percentage window
  std::uint64_t windowFailures = 0;
};

// Passive health checking (Envoy's outlier detection) over a changing set of endpoints, keyed by
// id: ejects an endpoint on server errors or gateway failures in a row (at once, on the outcome
// that reaches the threshold) and on its failure percentage over an interval (at update()), within
// the max-ejection cap; un-ejects it when its ejection time has passed. Observers are told of
// every ejection and un-ejection.
//
// Thread-safe. recordOutcome(), the per-request call, takes no lock: it finds the endpoint in an
// immutable index published at each membership change (cached per thread, as Balancer caches
// its snapshots) and updates the endpoint's atomic counters; it takes the lock only to eject or
// un-eject. Membership changes are O(n). Events are delivered after the lock is released (see
// Observer).
//
// The caller drives time: call update(now) at nextUpdateAt() (or every `interval` at least) so
// that ejections end on time and failure percentages are evaluated. Ejections due to end are also
// ended by any recordOutcome() that needs the lock, and by update().
class OutlierDetector {
 public:
  // Use makeOutlierDetector(), which validates; this constructor trusts `config`.
  explicit OutlierDetector(OutlierConfig config);
  ~OutlierDetector();
  OutlierDetector(const OutlierDetector&) = delete;
  OutlierDetector& operator=(const OutlierDetector&) = delete;

  // Membership. A new endpoint starts up with no history. Removing an ejected endpoint ends its
  // ejection without an event. Errors: kInvalidArgument (empty id), kDuplicateId, kNotFound.
  Status add(std::string id);
  Status remove(std::string_view id);

  // Records the outcome of one request to `id` at `now`; may eject it (or end ejections that
  // have expired) and notify observers. Outcomes for an endpoint while it is ejected (requests in
  // flight when it was ejected) are ignored. False when `id` is unknown (e.g. just removed): the
  // outcome is dropped.
  bool recordOutcome(std::string_view id, Outcome outcome, TimePoint now);

  // Ends expired ejections, applies decay, and every `interval` (counted from the first update)
  // evaluates and restarts the failure-percentage window.
  void update(TimePoint now);

  // When update() should next run: the earliest ejection end or failure-percentage evaluation;
  // nullopt when neither is pending.
  std::optional<TimePoint> nextUpdateAt() const;

  // Observers receive every change from now on; see Observer for the delivery contract. An
  // observer unsubscribed during a delivery may still receive that delivery's events.
  void subscribe(std::shared_ptr<Observer> observer);
  void unsubscribe(const Observer* observer);

  bool isEjected(std::string_view id) const;
  std::size_t ejectedCount() const;
  std::optional<OutlierStatus> endpoint(std::string_view id) const;
  std::vector<OutlierStatus> endpoints() const;  // in the order they were added
  std::size_t size() const;
  const OutlierConfig& config() const { return config_; }

 private:
  struct Entry;
  struct Index;
  using Expiries = std::multimap<TimePoint, Entry*>;

  const Index& current() const;
  void publishLocked();
  Entry* findLocked(std::string_view id) const;
  bool ejectLocked(Entry& entry, Reason reason, TimePoint now);
  bool capAllowsLocked() const;
  bool expireLocked(TimePoint now);
  void decayLocked(Entry& entry, TimePoint now) const;
  bool sweepLocked(TimePoint now);
  OutlierStatus statusOf(const Entry& entry) const;

  const OutlierConfig config_;
  const std::unique_ptr<Notifier> notifier_;

  mutable std::mutex mutex_;                   // guards all below but the published index
  std::vector<std::shared_ptr<Entry>> order_;  // the endpoints, in the order they were added
  std::shared_ptr<const Index> index_;         // the latest index
  Expiries expiries_;                          // ejected entries by ejection end
  std::size_t ejected_ = 0;
  std::optional<TimePoint> sweepAt_;  // next failure-percentage evaluation

  core::Published<Index> published_;  // what recordOutcome() reads, without the lock
};

// Builds a detector for `config`; errors name the offending field (see validate()).
Result<std::unique_ptr<OutlierDetector>> makeOutlierDetector(const OutlierConfig& config);

}  // namespace fairway::health
