#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fairway/sim/histogram.hpp>

namespace fairway::sim {

// Latency quantiles of one histogram, in milliseconds.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p999 = 0;
  double max = 0;
};

LatencySummary summarize(const Histogram& histogram);

// One interval a backend's breaker stayed open: from `at` (seconds since the start) for
// `openFor` seconds, the `trip`-th consecutive trip (1 for the first).
struct OpenInterval {
  double at = 0;
  double openFor = 0;
  std::int64_t trip = 0;
};

// A change seen on one backend, for timelines. Times in seconds since the start.
struct BackendEvent {
  enum class Kind : std::uint8_t {
    kAvailable,    // the balancer may pick it again
    kUnavailable,  // the balancer stopped picking it
    kHealthDown,   // active health checks took it down
    kHealthUp,
    kEjected,  // outlier detection ejected it
    kUnejected,
    kBreakerOpen,
    kBreakerHalfOpen,
    kBreakerClosed,
    kFaultStart,
    kFaultEnd,
  };
  double at = 0;
  std::uint32_t backend = 0;
  Kind kind = Kind::kAvailable;
};

std::string_view toString(BackendEvent::Kind kind);

struct BackendResult {
  std::string id;
  std::int64_t weight = 1;
  double weightShare = 0;  // weight / total weight
  // Attempts sent to it (measured requests), and their share of all such attempts.
  std::uint64_t attempts = 0;
  double loadShare = 0;
  std::uint64_t successes = 0;   // 2xx answers
  std::uint64_t errors = 0;      // 5xx answers (injected errors)
  std::uint64_t overloaded = 0;  // turned away by a full queue (503)
  std::uint64_t refused = 0;     // connections refused (crashed, or a refuse fault)
  std::uint64_t resets = 0;      // requests lost in a crash
  std::uint64_t timeouts = 0;    // attempts the client gave up on
  // Queueing at the backend, over requests that started service: the share that waited at all,
  // the mean wait (ms) and the mean service time (ms); utilisation = busy server time / (servers
  // × measured time).
  double waitProbability = 0;
  double meanWaitMs = 0;
  double meanServiceMs = 0;
  double utilization = 0;
  std::uint64_t probes = 0;
  std::uint64_t breakerTrips = 0;
  std::vector<OpenInterval> breakerOpen;
  std::uint64_t ejections = 0;
  double unavailableSeconds = 0;  // time the balancer could not pick it
};

// How one scheduled fault was handled: detection is the first moment after the fault began at
// which the backend stopped being picked (health down, ejected or breaker open); recovery the
// first moment after the fault ended at which it was picked again. Absent when it never happened.
struct FaultResult {
  std::string backend;
  std::string kind;
  double start = 0;
  std::optional<double> end;
  std::optional<double> detectedAfter;   // seconds after start
  std::optional<double> recoveredAfter;  // seconds after end
};

// Counts per time bucket, for plots.
struct Timeline {
  double bucketSeconds = 1;
  std::vector<std::vector<std::uint32_t>> attempts;  // [bucket][backend], by dispatch time
  std::vector<std::uint32_t> successes;              // [bucket], by completion time
  std::vector<std::uint32_t> failures;               // [bucket], by completion time
};

// Everything one run measured. Requests are "measured" when they arrive in [warmup, duration);
// each is then followed to its end, however long after `duration` that is.
struct Results {
  std::string scenario;
  std::string algorithm;
  std::uint64_t seed = 0;
  double measuredSeconds = 0;   // duration - warmup
  double simulatedSeconds = 0;  // until the last measured request ended

  std::uint64_t requests = 0;     // measured requests
  std::uint64_t successes = 0;    // answered 2xx (from a backend or the cache)
  std::uint64_t failures = 0;     // answered with an error after all retries
  std::uint64_t rateLimited = 0;  // answered 429 by the rate limiter
  std::uint64_t cacheHits = 0;
  std::uint64_t attempts = 0;       // sent to backends (or tried: refused, no backend)
  std::uint64_t retries = 0;        // attempts beyond the first
  std::uint64_t retriesDenied = 0;  // retries the budget refused
  std::uint64_t noBackend = 0;      // attempts with no backend to pick (503)
  std::uint64_t unfinished = 0;     // still open when the run stopped (see simulate())

  double throughput = 0;  // answered requests (any answer) per second
  double goodput = 0;     // successful requests per second
  double errorRate = 0;   // failures / requests (rate-limited ones not included)

  // End-to-end latency of successful requests: from arrival to the answer, retries included.
  Histogram latency;
  LatencySummary success;  // of `latency`, in milliseconds

  std::vector<BackendResult> backends;
  // Jain's fairness index of load share against weight share: (Σx)² / (n Σx²) with
  // x_i = loadShare_i / weightShare_i; 1 when load follows weights exactly, 1/n at worst.
  double jain = 0;
  std::vector<FaultResult> faults;
  std::vector<BackendEvent> events;  // in time order; at most kMaxEvents
  bool eventsTruncated = false;
  Timeline timeline;

  std::uint64_t eventsProcessed = 0;  // discrete events the engine ran
  // Memory the run held beyond its histograms: request and attempt slots (the most ever in
  // progress at once: they are reused) and the event queue's peak length. None of them grows with
  // the run's length, only with its concurrency.
  std::uint64_t requestSlots = 0;
  std::uint64_t attemptSlots = 0;
  std::uint64_t peakQueuedEvents = 0;
  double wallSeconds = 0;  // filled in by callers that time the run

  static constexpr std::size_t kMaxEvents = 100000;
};

}  // namespace fairway::sim
