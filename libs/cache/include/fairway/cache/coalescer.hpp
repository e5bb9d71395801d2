#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/cache/entry.hpp>
#include <fairway/cache/http.hpp>

namespace fairway::cache {

// How a fetch that others waited for ended.
struct FlightOutcome {
  enum class Kind {
    kStored,     // the response was stored: `entry` (followers check it against their request)
    kNotShared,  // the response may not be shared (private, no-store, uncacheable): fetch your own
    kFailed,     // the fetch failed (no response, or a server error)
    kAbandoned,  // the leader went away without publishing
  };
  Kind kind = Kind::kAbandoned;
  EntryPtr entry;
};

// Request coalescing (a "single flight"): of concurrent misses on one key, the first becomes the
// leader and fetches; the others become followers and wait for the leader's outcome, for at most
// `timeout`, then fetch for themselves.
//
// Clock-free and blocking-free: no method waits. join() tells a follower its deadline
// (`now + timeout`); the caller — the proxy's event loop, the simulator — arms its own timer and
// either receives the outcome (through the `Waiter` callback, or by polling the `Wait`) or, at
// the deadline, calls leave(). A leader that does not publish within `timeout` is presumed lost:
// the next join() on the key starts a new flight with a new leader.
//
// Thread-safe. Waiters run on the publishing thread, after the coalescer's locks are released;
// they must be quick and must not block (post to your loop).
class Coalescer {
 public:
  using Waiter = std::function<void(const FlightOutcome&)>;

  class Flight;

  // The leader's duty to publish. Move-only; destroying it unpublished publishes kAbandoned, so
  // followers never wait on a leader that forgot them.
  class Leadership {
   public:
    Leadership() = default;
    Leadership(Leadership&&) noexcept = default;
    Leadership& operator=(Leadership&& other) noexcept;
    ~Leadership();

    // Hands `outcome` to every follower still waiting and ends the flight. Once only; later calls
    // do nothing.
    void publish(FlightOutcome outcome);
    bool active() const { return flight_ != nullptr; }

   private:
    friend class Coalescer;
    explicit Leadership(std::shared_ptr<Flight> flight) : flight_(std::move(flight)) {}
    std::shared_ptr<Flight> flight_;
  };

  // A follower's place in a flight.
  class Wait {
   public:
    Wait() = default;
    // When the caller should stop waiting and call leave().
    TimePoint deadline() const { return deadline_; }
    // The outcome once published, else nullopt. Thread-safe, lock-free.
    std::optional<FlightOutcome> poll() const;
    bool valid() const { return flight_ != nullptr; }

   private:
    friend class Coalescer;
    Wait(std::shared_ptr<Flight> flight, std::uint64_t id, TimePoint deadline)
        : flight_(std::move(flight)), id_(id), deadline_(deadline) {}
    std::shared_ptr<Flight> flight_;
    std::uint64_t id_ = 0;
    TimePoint deadline_{};
  };

  // What join() made of the caller: exactly one of the two is set.
  struct Joined {
    std::optional<Leadership> leader;
    std::optional<Wait> follower;
    bool isLeader() const { return leader.has_value(); }
  };

  // `timeout` > 0.
  explicit Coalescer(std::chrono::nanoseconds timeout);
  ~Coalescer();
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // Leads a new flight on `key`, or follows the one under way (unless it is older than `timeout`:
  // then it is presumed lost and the caller leads a new one). A follower's `waiter`, if any, is
  // called once with the outcome — unless leave() took the follower out first.
  Joined join(std::string_view key, TimePoint now, Waiter waiter = {});
  // Leads a new flight on `key` if none is under way (or the one under way is presumed lost);
  // never follows. For background revalidation: one per key.
  std::optional<Leadership> tryLead(std::string_view key, TimePoint now);
  // A follower gives up at its deadline. True: it was taken out before the outcome came (fetch
  // for yourself; the waiter will not be called). False: the outcome was already published —
  // poll() has it and the waiter has been or is being called.
  bool leave(const Wait& wait);

  // Flights under way.
  std::size_t inFlight() const;
  std::chrono::nanoseconds timeout() const { return timeout_; }

 private:
  struct Shard;
  const std::shared_ptr<Shard>& shardFor(std::string_view key) const;

  std::chrono::nanoseconds timeout_;
  std::vector<std::shared_ptr<Shard>> shards_;  // shared with flights, which may outlive this
  std::atomic<std::uint64_t> nextId_{1};
};

}  // namespace fairway::cache
