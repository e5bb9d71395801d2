// The discrete-event engine: virtual time, fake backends, traffic, faults, and the glue between
// the policy libraries, wired as the proxy wires them. One Engine per run; everything on one
// thread; every random draw from a generator seeded from the scenario's seed.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fairway/balancer/balancer.hpp>
#include <fairway/breaker/breaker.hpp>
#include <fairway/cache/memory_store.hpp>
#include <fairway/cache/policy.hpp>
#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>
#include <fairway/ratelimit/limiter.hpp>
#include <fairway/sim/event_queue.hpp>
#include <fairway/sim/simulation.hpp>

namespace fairway::sim {
namespace {

using core::TimePoint;

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
// Virtual time 0 is one hour after the steady clock's epoch, so that no policy ever sees an
// instant near its own "never" sentinels.
constexpr std::int64_t kEpoch = 3'600'000'000'000;
// HTTP dates for the cache: virtual time 0 is 2026-01-01T00:00:00Z on the wall clock.
constexpr std::int64_t kWallEpochSeconds = 1'767'225'600;

TimePoint at(std::int64_t t) {
  return TimePoint(Duration(kEpoch + t));
}
std::int64_t fromTimePoint(TimePoint t) {
  return t.time_since_epoch().count() - kEpoch;
}
double seconds(std::int64_t ns) {
  return static_cast<double>(ns) * 1e-9;
}

enum EventKind : std::uint32_t {
  kArrival,         // index: source
  kClientWake,      // index: source, data: client (closed loop)
  kRetry,           // index: request
  kComplete,        // index: attempt, data: generation; the backend finished serving it
  kAnswer,          // index: attempt, data: generation; its answer reaches the client
  kTimeout,         // index: attempt, data: generation (FIFO lane 0)
  kHealthWake,      // a probe is due
  kProbeResult,     // index: backend
  kOutlierWake,     // the outlier detector's update() is due
  kBreakerElapsed,  // index: backend, data: open generation
  kFaultStart,      // index: fault
  kFaultEnd,        // index: fault
  kFlapToggle,      // index: fault
  kCacheHit,        // index: request
};

// How an attempt ended, as its client sees it.
enum class Answer : std::uint8_t {
  kPending,
  kSuccess,
  kError,        // a 5xx from the backend (an injected error)
  kOverload,     // 503: the backend's queue was full
  kRefused,      // connection refused
  kReset,        // the backend crashed while holding the request
  kTimeout,      // the client gave up
  kUnavailable,  // no backend to pick (the balancer or every breaker said no)
};

struct Request {
  std::int64_t arrival = 0;
  std::uint64_t key = 0;
  std::uint32_t size = 0;
  std::uint32_t source = 0;
  std::uint32_t client = kNone;       // closed loop
  std::uint32_t lastBackend = kNone;  // of the previous attempt
  std::uint16_t attempts = 0;
  bool measured = false;
  bool retrying = false;  // a retry is scheduled or in flight (for the budget)
};

struct Attempt {
  std::uint32_t request = 0;
  std::uint32_t backend = 0;
  std::uint32_t generation = 0;  // bumped when the slot is freed: stale events see a mismatch
  std::uint32_t server = kNone;  // while in service
  balancer::Pick pick;
  std::int64_t sent = 0;
  std::int64_t serviceTime = 0;
  Answer answer = Answer::kPending;
  std::uint16_t status = 0;
  bool clientDone = false;   // answered or abandoned
  bool backendDone = false;  // no longer queued or in service
  bool measured = false;
};

// A pool of T with a free list: no allocation per request once warm.
template <typename T>
class Pool {
 public:
  std::uint32_t acquire() {
    if (free_.empty()) {
      items_.emplace_back();
      return static_cast<std::uint32_t>(items_.size() - 1);
    }
    const std::uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  void release(std::uint32_t i) { free_.push_back(i); }
  T& operator[](std::uint32_t i) { return items_[i]; }
  std::size_t capacity() const { return items_.size(); }

 private:
  std::vector<T> items_;
  std::vector<std::uint32_t> free_;
};

// A growable FIFO ring of attempt ids.
class Ring {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  void push(std::uint32_t v) {
    if (size_ == items_.size()) {
      std::vector<std::uint32_t> next(items_.empty() ? 16 : items_.size() * 2);
      for (std::size_t i = 0; i < size_; ++i) {
        next[i] = items_[(head_ + i) & (items_.size() - 1)];
      }
      items_.swap(next);
      head_ = 0;
    }
    items_[(head_ + size_) & (items_.size() - 1)] = v;
    ++size_;
  }
  std::uint32_t pop() {
    const std::uint32_t v = items_[head_];
    head_ = (head_ + 1) & (items_.size() - 1);
    --size_;
    return v;
  }
  void clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  std::vector<std::uint32_t> items_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

struct Backend {
  BackendSpec spec;
  // The model: servers, queue, faults in force.
  std::vector<std::uint32_t> serving;  // server -> attempt, or kNone
  std::vector<std::uint32_t> idleServers;
  Ring queue;
  Random serviceRandom;
  Random faultRandom;
  int crashed = 0;  // crash faults (and flaps in their down phase) in force
  double slow = 1, probeSlow = 1;
  double errorRate = 0, probeErrorRate = 0;
  double refuseRate = 0, probeRefuseRate = 0;
  int errorStatus = 500;
  std::vector<std::size_t> activeFaults;

  // The policies' view.
  std::unique_ptr<breaker::Breaker> breaker;
  bool healthUp = true;
  bool ejected = false;
  breaker::State breakerState = breaker::State::kClosed;
  std::int64_t openUntil = 0;
  std::uint32_t openGeneration = 0;
  bool available = true;
  std::int64_t unavailableSince = 0;
  health::ProbeResult pendingProbe;

  // Measurements (measured requests only, except where noted).
  BackendResult result;
  std::uint64_t started = 0;
  std::uint64_t waited = 0;
  double waitSum = 0;
  double serviceSum = 0;
  double unavailableNs = 0;  // whole run
};

struct Source {
  SourceSpec spec;
  Random random;
  std::int64_t start = 0;
  std::int64_t end = 0;
  double peakRate = 0;  // thinning bound
  std::ifstream replay;
  std::size_t replayLine = 0;
  // The replay record read ahead: it arrives at the next kArrival of this source.
  std::uint64_t nextKey = 0;
  std::uint32_t nextSize = 0;
};

struct FaultState {
  bool active = false;
  bool flapDown = false;
  std::optional<std::int64_t> detectedAt;
  std::optional<std::int64_t> recoveredAt;
};

// Maps the balancer's Endpoint pointers to backend indexes: open addressing over a power-of-two
// table, filled on first sight (the endpoint set never changes during a run).
class EndpointIndex {
 public:
  void reset(std::size_t n) {
    std::size_t size = 16;
    while (size < 4 * n) {
      size *= 2;
    }
    keys_.assign(size, nullptr);
    values_.assign(size, kNone);
  }
  std::uint32_t find(const balancer::Endpoint* e) const {
    for (std::size_t i = slot(e);; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == e) {
        return values_[i];
      }
      if (keys_[i] == nullptr) {
        return kNone;
      }
    }
  }
  void insert(const balancer::Endpoint* e, std::uint32_t v) {
    std::size_t i = slot(e);
    while (keys_[i] != nullptr && keys_[i] != e) {
      i = (i + 1) & (keys_.size() - 1);
    }
    keys_[i] = e;
    values_[i] = v;
  }

 private:
  std::size_t slot(const balancer::Endpoint* e) const {
    const auto bits = reinterpret_cast<std::uintptr_t>(e);
    return static_cast<std::size_t>(core::Random::mix(bits)) & (keys_.size() - 1);
  }
  std::vector<const balancer::Endpoint*> keys_;
  std::vector<std::uint32_t> values_;
};

class Engine;

// fairway::health::Observer for both the checker and the outlier detector.
class HealthGlue : public health::Observer {
 public:
  explicit HealthGlue(Engine& engine) : engine_(engine) {}
  // fairway::health::Observer
  void onHealthChange(const health::HealthEvent& event) override;

 private:
  Engine& engine_;
};

// fairway::breaker::Observer for one backend's breaker.
class BreakerGlue : public breaker::Observer {
 public:
  BreakerGlue(Engine& engine, std::uint32_t backend) : engine_(engine), backend_(backend) {}
  // fairway::breaker::Observer
  void onTransition(const breaker::Transition& transition) override;

 private:
  Engine& engine_;
  std::uint32_t backend_;
};

class Engine {
 public:
  Engine(const Scenario& scenario, const RunOptions& options)
      : s_(scenario),
        options_(options),
        seed_(options.seed.value_or(scenario.seed)),
        algorithm_(options.algorithm.empty() ? scenario.balancer.algorithm : options.algorithm),
        duration_(scenario.duration.count()),
        warmup_(scenario.warmup.count()),
        keys_(scenario.keys.count, scenario.keys.zipf),
        keyRandom_(stream(0x200)),
        pickRandom_(stream(0x500)),
        retryRandom_(stream(0x600)),
        probeRandom_(stream(0x700)) {}

  Result<Results> run();

  void onHealthChange(const health::HealthEvent& event);
  void onBreakerTransition(std::uint32_t b, const breaker::Transition& t);

 private:
  std::uint64_t stream(std::uint64_t salt) const {
    return core::Random::mix(seed_ ^ (salt * 0x9e3779b97f4a7c15ULL));
  }

  Status setUp();
  std::optional<Error> step(const Event& e);

  // Traffic.
  std::optional<std::int64_t> nextArrival(Source& source, std::int64_t from);
  // Reads the next replay record into source.next*; its time, nullopt at the end of the file.
  Result<std::optional<std::int64_t>> readReplay(Source& source);
  std::optional<Error> scheduleNext(std::uint32_t sourceIndex, std::int64_t from);
  std::optional<Error> arrive(std::uint32_t sourceIndex);
  void startRequest(std::uint32_t source, std::uint32_t client, std::uint64_t key,
                    std::uint32_t size);
  bool cacheLookup(Request& r);
  void cacheStore(const Request& r);

  // Attempts.
  void dispatch(std::uint32_t requestId);
  std::uint32_t pickBackend(Request& r, balancer::Pick& pick);
  void releaseUnused(const balancer::Pick& pick);
  void startService(Backend& b, std::uint32_t attemptId);
  void complete(std::uint32_t attemptId, std::uint64_t generation);
  void answer(std::uint32_t attemptId, std::uint64_t generation);
  void timeout(std::uint32_t attemptId, std::uint64_t generation);
  void scheduleAnswer(std::uint32_t attemptId, Answer answer, std::uint16_t status);
  void settle(Attempt& a, Answer answer, std::uint16_t status);
  void freeAttempt(std::uint32_t attemptId);
  void requestOutcome(std::uint32_t requestId, Answer answer);
  void finish(std::uint32_t requestId, bool success, bool limited = false);
  bool retryable(Answer answer) const;

  // Faults.
  void faultStart(std::size_t f);
  void faultEnd(std::size_t f);
  void flapToggle(std::size_t f);
  void applyFaults(std::uint32_t b);
  void crash(std::uint32_t b);

  // Policies.
  void refreshAvailability(std::uint32_t b);
  void scheduleHealthWake();
  void healthWake(const Event& e);
  void probeResult(std::uint32_t b);
  void scheduleOutlierWake();
  void logEvent(std::uint32_t b, BackendEvent::Kind kind);
  std::uint32_t backendById(std::string_view id) const;

  Results collect();

  std::size_t bucketOf(std::int64_t t) const {
    if (t < 0) {
      return 0;
    }
    const auto i = static_cast<std::size_t>(t / bucketNs_);
    return std::min(i, results_.timeline.successes.size() - 1);
  }

  const Scenario& s_;
  const RunOptions& options_;
  const std::uint64_t seed_;
  const std::string algorithm_;
  const std::int64_t duration_;
  const std::int64_t warmup_;
  std::int64_t now_ = 0;
  std::int64_t bucketNs_ = 1;

  EventQueue queue_;
  Pool<Request> requests_;
  Pool<Attempt> attempts_;
  std::vector<Backend> backends_;
  std::vector<Source> sources_;
  std::vector<FaultState> faults_;
  std::map<std::string, std::uint32_t, std::less<>> idIndex_;
  EndpointIndex endpointIndex_;

  ZipfSampler keys_;
  Random keyRandom_;
  Random pickRandom_;
  Random retryRandom_;
  Random probeRandom_;

  std::unique_ptr<balancer::Balancer> balancer_;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<health::OutlierDetector> outlier_;
  std::unique_ptr<ratelimit::Limiter> limiter_;
  std::unique_ptr<cache::Store> cacheStore_;
  std::unique_ptr<cache::Policy> cachePolicy_;
  std::shared_ptr<HealthGlue> healthGlue_;
  std::vector<std::shared_ptr<BreakerGlue>> breakerGlue_;
  std::int64_t healthWakeAt_ = -1;
  std::int64_t outlierWakeAt_ = -1;
  std::size_t available_ = 0;

  std::int64_t activeRequests_ = 0;
  std::int64_t retriesActive_ = 0;
  std::int64_t lastMeasuredEnd_ = 0;
  bool usesHash_ = false;
  Results results_;
};

void HealthGlue::onHealthChange(const health::HealthEvent& event) {
  engine_.onHealthChange(event);
}

void BreakerGlue::onTransition(const breaker::Transition& transition) {
  engine_.onBreakerTransition(backend_, transition);
}

Status Engine::setUp() {
  auto bad = [](std::string message) {
    return Error{ErrorCode::kInvalidArgument, std::move(message)};
  };
  if (Status status = validate(s_); !status) {
    return status;
  }
  const TimePoint t0 = at(0);

  // Backends and the balancer over them.
  balancer::Config lb = s_.balancer;
  lb.algorithm = algorithm_;
  lb.seed = stream(0xba1);
  lb.endpoints.clear();
  backends_.resize(s_.backends.size());
  for (std::size_t i = 0; i < s_.backends.size(); ++i) {
    Backend& b = backends_[i];
    b.spec = s_.backends[i];
    b.serving.assign(static_cast<std::size_t>(b.spec.servers), kNone);
    for (int k = b.spec.servers - 1; k >= 0; --k) {
      b.idleServers.push_back(static_cast<std::uint32_t>(k));
    }
    b.serviceRandom = Random(stream(0x300 + i));
    b.faultRandom = Random(stream(0x400 + i));
    b.result.id = b.spec.id;
    b.result.weight = b.spec.weight;
    idIndex_.emplace(b.spec.id, static_cast<std::uint32_t>(i));
    lb.endpoints.push_back({b.spec.id, "sim://" + b.spec.id, b.spec.weight, true});
  }
  available_ = backends_.size();
  auto balancer = balancer::make(lb);
  if (!balancer) {
    return bad("balancer: " + balancer.error().message);
  }
  balancer_ = std::move(balancer).value();
  endpointIndex_.reset(backends_.size());
  usesHash_ = algorithm_ == "consistent_hash";

  healthGlue_ = std::make_shared<HealthGlue>(*this);
  if (s_.healthCheck) {
    health::HealthCheckConfig config = *s_.healthCheck;
    config.seed = stream(0x4ea1);
    auto checker = health::makeHealthChecker(config);
    if (!checker) {
      return bad(checker.error().message);
    }
    checker_ = std::move(checker).value();
    checker_->subscribe(healthGlue_);
    for (Backend& b : backends_) {
      (void)checker_->add(b.spec.id, "sim://" + b.spec.id, t0);
      if (checker_->state(b.spec.id) == health::HealthState::kDown) {
        b.healthUp = false;
      }
    }
  }
  if (s_.outlier) {
    auto detector = health::makeOutlierDetector(*s_.outlier);
    if (!detector) {
      return bad(detector.error().message);
    }
    outlier_ = std::move(detector).value();
    outlier_->subscribe(healthGlue_);
    for (Backend& b : backends_) {
      (void)outlier_->add(b.spec.id);
    }
    outlier_->update(t0);
  }
  if (s_.breaker) {
    for (std::size_t i = 0; i < backends_.size(); ++i) {
      breaker::Config config = *s_.breaker;
      config.seed = core::Random::mix(stream(0xb4e) ^ core::hashKey(backends_[i].spec.id));
      breakerGlue_.push_back(std::make_shared<BreakerGlue>(*this, static_cast<std::uint32_t>(i)));
      auto made = breaker::make(config, {breakerGlue_.back()});
      if (!made) {
        return bad("breaker." + made.error().message);
      }
      backends_[i].breaker = std::move(made).value();
    }
  }
  if (s_.rateLimit) {
    auto limiter = ratelimit::make(s_.rateLimit->config);
    if (!limiter) {
      return bad(limiter.error().message);
    }
    limiter_ = std::move(limiter).value();
  }
  if (s_.cache) {
    cache::Config config;
    config.maxSize = s_.cache->maxSize;
    config.policy = s_.cache->policy;
    config.hashSeed = stream(0xcac4e);
    auto store = cache::makeStore(config);
    if (!store) {
      return bad(store.error().message);
    }
    cacheStore_ = std::move(store).value();
    cachePolicy_ = std::make_unique<cache::Policy>(config);
  }
  for (Backend& b : backends_) {
    if (!b.healthUp) {
      refreshAvailability(static_cast<std::uint32_t>(&b - backends_.data()));
    }
  }

  // Traffic sources: each its own generator, so arrivals are the same whatever the algorithm.
  sources_.resize(s_.traffic.size());
  for (std::size_t i = 0; i < s_.traffic.size(); ++i) {
    Source& src = sources_[i];
    src.spec = s_.traffic[i];
    src.random = Random(stream(0x100 + i));
    src.start = src.spec.start.count();
    src.end = std::min(duration_, src.spec.end ? src.spec.end->count() : duration_);
    using K = SourceSpec::Kind;
    switch (src.spec.kind) {
      case K::kRamp:
        src.peakRate = std::max(src.spec.rate, src.spec.rateTo);
        break;
      case K::kDiurnal:
        src.peakRate = src.spec.rate * (1 + src.spec.amplitude);
        break;
      default:
        src.peakRate = src.spec.rate;
        break;
    }
    if (src.start >= src.end) {
      continue;
    }
    if (src.spec.kind == K::kClosed) {
      for (int c = 0; c < src.spec.population; ++c) {
        const auto t = src.start + static_cast<std::int64_t>(src.spec.think.sample(src.random));
        if (t < src.end) {
          queue_.push(t, kClientWake, static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(c));
        }
      }
      continue;
    }
    if (src.spec.kind == K::kReplay) {
      src.replay.open(src.spec.file);
      if (!src.replay) {
        return Error{ErrorCode::kIo, "traffic[" + std::to_string(i) + "].file: cannot read '" +
                                         src.spec.file + "'"};
      }
    }
    if (std::optional<Error> error = scheduleNext(static_cast<std::uint32_t>(i), src.start)) {
      return *error;
    }
  }

  // Faults.
  faults_.resize(s_.faults.size());
  for (std::size_t f = 0; f < s_.faults.size(); ++f) {
    queue_.push(s_.faults[f].at.count(), kFaultStart, static_cast<std::uint32_t>(f), 0);
    if (s_.faults[f].until) {
      queue_.push(s_.faults[f].until->count(), kFaultEnd, static_cast<std::uint32_t>(f), 0);
    }
  }

  // Results skeleton and timeline.
  const std::int64_t resolution = s_.resolution.count() > 0
                                      ? s_.resolution.count()
                                      : std::max<std::int64_t>(1, duration_ / 120);
  bucketNs_ = resolution;
  const auto buckets = static_cast<std::size_t>((duration_ + resolution - 1) / resolution);
  results_.timeline.bucketSeconds = seconds(resolution);
  results_.timeline.attempts.assign(buckets, std::vector<std::uint32_t>(backends_.size(), 0));
  results_.timeline.successes.assign(buckets, 0);
  results_.timeline.failures.assign(buckets, 0);

  if (checker_) {
    scheduleHealthWake();
  }
  scheduleOutlierWake();
  return {};
}

Result<Results> Engine::run() {
  if (Status status = setUp(); !status) {
    return status.error();
  }
  // Requests still open this long after the end are counted as unfinished.
  const std::int64_t hardStop = duration_ + std::max<std::int64_t>(duration_, 60'000'000'000);
  std::uint64_t events = 0;
  std::uint64_t peakQueued = 0;  // sampled every 1024 events
  while (!queue_.empty()) {
    if (activeRequests_ == 0 && queue_.nextTime() >= duration_) {
      break;
    }
    if ((events & 0x3ff) == 0) {
      peakQueued = std::max<std::uint64_t>(peakQueued, queue_.size());
    }
    const Event e = queue_.pop();
    if (e.time > hardStop) {
      break;
    }
    now_ = e.time;
    if (std::optional<Error> error = step(e)) {
      return *error;
    }
    if ((++events & 0xffff) == 0 && options_.progress) {
      options_.progress(std::min(1.0, static_cast<double>(now_) / static_cast<double>(duration_)));
    }
  }
  if (now_ < duration_) {
    now_ = duration_;
  }
  // Leases still held (only when the run hit its hard stop) go back before the balancer goes.
  for (std::uint32_t i = 0; i < attempts_.capacity(); ++i) {
    if (!attempts_[i].clientDone) {
      attempts_[i].clientDone = true;
      balancer_->release(attempts_[i].pick, {at(now_), Duration(0)});
    }
  }
  results_.eventsProcessed = events;
  results_.requestSlots = requests_.capacity();
  results_.attemptSlots = attempts_.capacity();
  results_.peakQueuedEvents = peakQueued;
  if (options_.progress) {
    options_.progress(1.0);
  }
  return collect();
}

std::optional<Error> Engine::step(const Event& e) {
  switch (e.kind) {
    case kArrival:
      return arrive(e.index);
    case kClientWake: {
      Source& src = sources_[e.index];
      const std::uint64_t key = keys_.sample(keyRandom_);
      const auto size = static_cast<std::uint32_t>(src.spec.size.sample(src.random));
      startRequest(e.index, static_cast<std::uint32_t>(e.data), key, size);
      break;
    }
    case kRetry:
      dispatch(e.index);
      break;
    case kComplete:
      complete(e.index, e.data);
      break;
    case kAnswer:
      answer(e.index, e.data);
      break;
    case kTimeout:
      timeout(e.index, e.data);
      break;
    case kHealthWake:
      healthWake(e);
      break;
    case kProbeResult:
      probeResult(e.index);
      break;
    case kOutlierWake:
      if (e.time == outlierWakeAt_) {
        outlierWakeAt_ = -1;
        outlier_->update(at(now_));
        scheduleOutlierWake();
      }
      break;
    case kBreakerElapsed: {
      Backend& b = backends_[e.index];
      if (e.data == b.openGeneration && b.breakerState == breaker::State::kOpen) {
        refreshAvailability(e.index);
      }
      break;
    }
    case kFaultStart:
      faultStart(e.index);
      break;
    case kFaultEnd:
      faultEnd(e.index);
      break;
    case kFlapToggle:
      flapToggle(e.index);
      break;
    case kCacheHit: {
      if (requests_[e.index].measured) {
        ++results_.cacheHits;
      }
      finish(e.index, true);
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

// ---- Traffic ----

std::optional<std::int64_t> Engine::nextArrival(Source& src, std::int64_t from) {
  using K = SourceSpec::Kind;
  const SourceSpec& spec = src.spec;
  auto gap = [&](double rate) {
    return static_cast<std::int64_t>(-std::log(Distribution::openUniform(src.random)) / rate * 1e9);
  };
  std::int64_t t = from;
  switch (spec.kind) {
    case K::kPoisson:
      t = from + gap(spec.rate);
      break;
    case K::kOnOff: {
      // Piecewise-constant Poisson: a gap that crosses the phase's end restarts there, which is
      // exact for a memoryless process.
      const std::int64_t on = spec.on.count();
      const std::int64_t cycle = on + spec.off.count();
      for (;;) {
        const std::int64_t phaseStart = src.start + (t - src.start) / cycle * cycle;
        const bool inOn = t - phaseStart < on;
        const std::int64_t phaseEnd = inOn ? phaseStart + on : phaseStart + cycle;
        const double rate = inOn ? spec.rate : spec.rateOff;
        if (phaseEnd >= src.end && rate <= 0) {
          return std::nullopt;
        }
        if (rate > 0) {
          const std::int64_t next = t + gap(rate);
          if (next < phaseEnd) {
            t = next;
            break;
          }
        }
        t = phaseEnd;
        if (t >= src.end) {
          return std::nullopt;
        }
      }
      break;
    }
    case K::kRamp:
    case K::kDiurnal: {
      // Thinning (Lewis and Shedler, 1979): candidates at the peak rate, each kept with
      // probability rate(t) / peak.
      for (;;) {
        t += gap(src.peakRate);
        if (t >= src.end) {
          return std::nullopt;
        }
        const double x = static_cast<double>(t - src.start);
        double rate;
        if (spec.kind == K::kRamp) {
          rate =
              spec.rate + (spec.rateTo - spec.rate) * x / static_cast<double>(src.end - src.start);
        } else {
          rate =
              spec.rate * (1 + spec.amplitude * std::sin(6.283185307179586 * x /
                                                         static_cast<double>(spec.period.count())));
        }
        if (src.random.uniform() * src.peakRate < rate) {
          break;
        }
      }
      break;
    }
    case K::kReplay:
    case K::kClosed:
      return std::nullopt;
  }
  if (t >= src.end) {
    return std::nullopt;
  }
  return t;
}

Result<std::optional<std::int64_t>> Engine::readReplay(Source& src) {
  // Lines are read into a fixed buffer: a log line is short, and a file without newlines must not
  // be read into memory whole.
  char buffer[4096];
  std::string line;
  for (;;) {
    src.replay.getline(buffer, sizeof buffer);
    if (src.replay.fail() && !src.replay.eof() &&
        src.replay.gcount() == static_cast<std::streamsize>(sizeof buffer - 1)) {
      return Error{ErrorCode::kInvalidArgument,
                   src.spec.file + ":" + std::to_string(src.replayLine + 1) +
                       ": line longer than " + std::to_string(sizeof buffer - 1) + " bytes"};
    }
    if (src.replay.gcount() == 0 && !src.replay) {
      return std::optional<std::int64_t>();
    }
    line.assign(buffer);
    src.replay.clear(src.replay.rdstate() & ~std::ios::failbit);
    ++src.replayLine;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line[0] == '#' || (src.replayLine == 1 && line.rfind("time", 0) == 0)) {
      continue;  // blank lines, comments, a header line
    }
    auto bad = [&](const std::string& why) {
      return Error{ErrorCode::kInvalidArgument, src.spec.file + ":" +
                                                    std::to_string(src.replayLine) + ": " + why +
                                                    " (got '" + line + "')"};
    };
    const auto c1 = line.find(',');
    if (c1 == std::string::npos) {
      return bad("expected time,key,size");
    }
    const auto c2 = line.find(',', c1 + 1);
    const std::string timeText = line.substr(0, c1);
    char* end = nullptr;
    const double value = std::strtod(timeText.c_str(), &end);
    if (timeText.empty() || end != timeText.c_str() + timeText.size() || !(value >= 0) ||
        value > 1e9) {
      return bad("time must be seconds since the source's start, >= 0");
    }
    const std::int64_t when = src.start + static_cast<std::int64_t>(std::llround(value * 1e9));
    if (when < now_) {
      return bad("times must not decrease");
    }
    const std::string_view rest(line);
    src.nextKey = core::hashKey(rest.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1));
    src.nextSize = 1024;
    if (c2 != std::string::npos) {
      const std::string_view sizeText = rest.substr(c2 + 1);
      std::uint32_t size = 0;
      const auto [p, ec] =
          std::from_chars(sizeText.data(), sizeText.data() + sizeText.size(), size);
      if (sizeText.empty() || ec != std::errc() || p != sizeText.data() + sizeText.size()) {
        return bad("size must be a whole number of bytes");
      }
      src.nextSize = size;
    }
    return std::optional<std::int64_t>(when);
  }
}

std::optional<Error> Engine::scheduleNext(std::uint32_t index, std::int64_t from) {
  Source& src = sources_[index];
  std::optional<std::int64_t> next;
  if (src.spec.kind == SourceSpec::Kind::kReplay) {
    auto read = readReplay(src);
    if (!read) {
      return read.error();
    }
    next = read.value();
  } else {
    next = nextArrival(src, from);
  }
  if (next && *next < src.end) {
    queue_.push(*next, kArrival, index, 0);
  }
  return std::nullopt;
}

std::optional<Error> Engine::arrive(std::uint32_t index) {
  Source& src = sources_[index];
  if (src.spec.kind == SourceSpec::Kind::kReplay) {
    startRequest(index, kNone, src.nextKey, src.nextSize);
  } else {
    const std::uint64_t key = keys_.sample(keyRandom_);
    const auto size = static_cast<std::uint32_t>(src.spec.size.sample(src.random));
    startRequest(index, kNone, key, size);
  }
  return scheduleNext(index, now_);
}

void Engine::startRequest(std::uint32_t source, std::uint32_t client, std::uint64_t key,
                          std::uint32_t size) {
  const std::uint32_t id = requests_.acquire();
  Request& r = requests_[id];
  r = Request{};
  r.arrival = now_;
  r.key = key;
  r.size = size;
  r.source = source;
  r.client = client;
  r.measured = now_ >= warmup_ && now_ < duration_;
  ++activeRequests_;
  if (r.measured) {
    ++results_.requests;
  }
  if (limiter_) {
    char text[24];
    std::string_view k = "global";
    if (s_.rateLimit->perKey) {
      const auto [p, ec] = std::to_chars(text, text + sizeof text, key);
      (void)ec;
      k = std::string_view(text, static_cast<std::size_t>(p - text));
    }
    if (!limiter_->tryAcquire(k, 1, at(now_)).allowed) {
      finish(id, false, true);
      return;
    }
  }
  if (cacheStore_ && cacheLookup(r)) {
    queue_.push(now_ + s_.cache->hitLatency.count(), kCacheHit, id, 0);
    return;
  }
  dispatch(id);
}

namespace {

std::string cacheUri(std::uint64_t key) {
  return "http://sim/k/" + std::to_string(key);
}

cache::SystemTime wallAt(std::int64_t t) {
  return cache::SystemTime(std::chrono::duration_cast<cache::SystemTime::duration>(
      std::chrono::seconds(kWallEpochSeconds) + Duration(t)));
}

}  // namespace

bool Engine::cacheLookup(Request& r) {
  const cache::Request request{"GET", cacheUri(r.key), {}};
  auto found = cacheStore_->lookup(request.uri);
  if (!found || !found.value()) {
    return false;
  }
  const cache::EntryPtr entry = cache::Policy::select(*found.value(), request);
  if (!entry) {
    return false;
  }
  const cache::Verdict verdict = cachePolicy_->evaluate(*entry, {}, wallAt(now_));
  return verdict.usability == cache::Usability::kFresh;
}

void Engine::cacheStore(const Request& r) {
  const cache::Request request{"GET", cacheUri(r.key), {}};
  cache::Response response;
  response.status = 200;
  response.headers.add("Cache-Control", "max-age=" + std::to_string(s_.cache->ttl.count()));
  const cache::SystemTime sent = wallAt(r.arrival);
  std::optional<cache::Entry> entry =
      cachePolicy_->makeEntry(request, response, sent, wallAt(now_));
  if (entry) {
    (void)cacheStore_->insert(std::make_shared<const cache::Entry>(std::move(*entry)));
  }
}

// ---- Attempts ----

void Engine::releaseUnused(const balancer::Pick& pick) {
  // A lease taken and given back without a request: report the endpoint's own latency estimate,
  // so that a latency-aware algorithm learns nothing from it.
  const auto latency = static_cast<std::int64_t>(pick.endpoint->latencyEwmaNs());
  balancer_->release(pick, {at(now_), Duration(latency)});
}

// As the proxy's worker does: pick; on a retry, pick again rather than take the backend that just
// failed; ask that backend's breaker, and pick again when it refuses (a half-open breaker admits
// only its probes). At most max(3, backends) picks.
std::uint32_t Engine::pickBackend(Request& r, balancer::Pick& out) {
  balancer::PickContext context{at(now_), std::nullopt, &pickRandom_};
  if (usesHash_) {
    context.hash = core::Random::mix(r.key ^ 0x6b657973ULL);
  }
  const bool avoid = r.attempts > 1 && s_.client.retries.otherBackend && backends_.size() > 1;
  const std::size_t tries = std::max<std::size_t>(3, backends_.size());
  for (std::size_t i = 0; i < tries; ++i) {
    std::optional<balancer::Pick> pick = balancer_->pick(context);
    if (!pick) {
      return kNone;
    }
    std::uint32_t b = endpointIndex_.find(pick->endpoint);
    if (b == kNone) {
      b = backendById(pick->endpoint->id());
      endpointIndex_.insert(pick->endpoint, b);
    }
    bool again = avoid && b == r.lastBackend && i + 1 < tries;
    if (!again && backends_[b].breaker) {
      again = !backends_[b].breaker->allow(at(now_));
    }
    if (again) {
      releaseUnused(*pick);
      continue;
    }
    out = *pick;
    return b;
  }
  return kNone;
}

void Engine::dispatch(std::uint32_t requestId) {
  Request& r = requests_[requestId];
  ++r.attempts;
  if (r.measured) {
    ++results_.attempts;
    if (r.attempts > 1) {
      ++results_.retries;
    }
  }
  balancer::Pick pick;
  const std::uint32_t b = pickBackend(r, pick);
  if (b == kNone) {
    if (r.measured) {
      ++results_.noBackend;
    }
    requestOutcome(requestId, Answer::kUnavailable);
    return;
  }
  r.lastBackend = b;
  Backend& backend = backends_[b];
  const std::uint32_t id = attempts_.acquire();
  Attempt& a = attempts_[id];
  const std::uint32_t generation = a.generation;
  a = Attempt{};
  a.generation = generation;
  a.request = requestId;
  a.backend = b;
  a.pick = pick;
  a.sent = now_;
  a.measured = r.measured;
  if (r.measured) {
    ++backend.result.attempts;
  }
  if (now_ < duration_) {
    ++results_.timeline.attempts[bucketOf(now_)][b];
  }
  if (s_.client.timeout.count() > 0) {
    queue_.pushLane(0, now_ + s_.client.timeout.count(), kTimeout, id, generation);
  }
  if (backend.crashed > 0 ||
      (backend.refuseRate > 0 && backend.faultRandom.uniform() < backend.refuseRate)) {
    a.backendDone = true;
    scheduleAnswer(id, Answer::kRefused, 0);
    return;
  }
  if (!backend.idleServers.empty()) {
    startService(backend, id);
    return;
  }
  if (static_cast<std::int64_t>(backend.queue.size()) >= backend.spec.queue) {
    a.backendDone = true;
    scheduleAnswer(id, Answer::kOverload, 503);
    return;
  }
  backend.queue.push(id);
}

void Engine::startService(Backend& b, std::uint32_t id) {
  Attempt& a = attempts_[id];
  const std::uint32_t server = b.idleServers.back();
  b.idleServers.pop_back();
  b.serving[server] = id;
  a.server = server;
  double service = b.spec.service.sample(b.serviceRandom) * b.slow;
  if (b.spec.nsPerByte > 0) {
    service += b.spec.nsPerByte * requests_[a.request].size * b.slow;
  }
  a.serviceTime = std::max<std::int64_t>(0, static_cast<std::int64_t>(service));
  if (b.errorRate > 0 && b.faultRandom.uniform() < b.errorRate) {
    a.answer = Answer::kError;
    a.status = static_cast<std::uint16_t>(b.errorStatus);
  } else {
    a.answer = Answer::kSuccess;
    a.status = 200;
  }
  if (a.measured) {
    const std::int64_t wait = now_ - a.sent;
    ++b.started;
    if (wait > 0) {
      ++b.waited;
      b.waitSum += static_cast<double>(wait);
    }
    b.serviceSum += static_cast<double>(a.serviceTime);
  }
  queue_.push(now_ + a.serviceTime, kComplete, id, a.generation);
}

void Engine::complete(std::uint32_t id, std::uint64_t generation) {
  Attempt& a = attempts_[id];
  if (a.generation != generation || a.backendDone) {
    return;  // lost in a crash
  }
  Backend& b = backends_[a.backend];
  a.backendDone = true;
  b.serving[a.server] = kNone;
  b.idleServers.push_back(a.server);
  a.server = kNone;
  while (!b.queue.empty() && !b.idleServers.empty()) {
    startService(b, b.queue.pop());
  }
  if (a.clientDone) {
    freeAttempt(id);  // the client gave up on it: wasted work
    return;
  }
  if (s_.rtt.count() > 0) {
    queue_.push(now_ + s_.rtt.count(), kAnswer, id, a.generation);
    return;
  }
  answer(id, a.generation);
}

void Engine::scheduleAnswer(std::uint32_t id, Answer answer, std::uint16_t status) {
  Attempt& a = attempts_[id];
  a.answer = answer;
  a.status = status;
  queue_.push(now_ + s_.rtt.count(), kAnswer, id, a.generation);
}

void Engine::answer(std::uint32_t id, std::uint64_t generation) {
  Attempt& a = attempts_[id];
  if (a.generation != generation || a.clientDone) {
    return;
  }
  a.clientDone = true;
  const Answer answer = a.answer;
  const std::uint32_t request = a.request;
  settle(a, answer, a.status);
  if (a.backendDone) {
    freeAttempt(id);
  }
  requestOutcome(request, answer);
}

void Engine::timeout(std::uint32_t id, std::uint64_t generation) {
  Attempt& a = attempts_[id];
  if (a.generation != generation || a.clientDone) {
    return;
  }
  a.clientDone = true;
  const std::uint32_t request = a.request;
  settle(a, Answer::kTimeout, 0);
  if (a.backendDone) {
    freeAttempt(id);
  }
  requestOutcome(request, Answer::kTimeout);
}

// Tells the policies how the attempt ended, as the proxy does: breaker, outlier detection, and
// the balancer's lease (with the latency, for peak_ewma).
void Engine::settle(Attempt& a, Answer answer, std::uint16_t status) {
  Backend& b = backends_[a.backend];
  const TimePoint t = at(now_);
  const Duration latency(now_ - a.sent);
  if (a.measured) {
    BackendResult& r = b.result;
    switch (answer) {
      case Answer::kSuccess:
        ++r.successes;
        break;
      case Answer::kError:
        ++r.errors;
        break;
      case Answer::kOverload:
        ++r.overloaded;
        break;
      case Answer::kRefused:
        ++r.refused;
        break;
      case Answer::kReset:
        ++r.resets;
        break;
      case Answer::kTimeout:
        ++r.timeouts;
        break;
      default:
        break;
    }
  }
  if (b.breaker) {
    b.breaker->record(
        answer == Answer::kSuccess ? breaker::Outcome::kSuccess : breaker::Outcome::kFailure,
        latency, t);
  }
  if (outlier_) {
    health::Outcome outcome = health::Outcome::response(200);
    switch (answer) {
      case Answer::kError:
      case Answer::kOverload:
        outcome = health::Outcome::response(status);
        break;
      case Answer::kRefused:
        outcome = health::Outcome::connectFailure();
        break;
      case Answer::kReset:
        outcome = health::Outcome::reset();
        break;
      case Answer::kTimeout:
        outcome = health::Outcome::timeout();
        break;
      default:
        break;
    }
    outlier_->recordOutcome(b.spec.id, outcome, t);
  }
  balancer_->release(a.pick, {t, latency});
}

void Engine::freeAttempt(std::uint32_t id) {
  ++attempts_[id].generation;
  attempts_.release(id);
}

bool Engine::retryable(Answer answer) const {
  const RetrySpec& r = s_.client.retries;
  switch (answer) {
    case Answer::kError:
    case Answer::kReset:
      return r.onError;
    case Answer::kTimeout:
      return r.onTimeout;
    case Answer::kRefused:
      return r.onRefused;
    case Answer::kUnavailable:
      return r.onUnavailable;
    case Answer::kOverload:
      return r.onOverload;
    default:
      return false;
  }
}

void Engine::requestOutcome(std::uint32_t requestId, Answer answer) {
  Request& r = requests_[requestId];
  if (answer == Answer::kSuccess) {
    if (cacheStore_) {
      cacheStore(r);
    }
    finish(requestId, true);
    return;
  }
  const RetrySpec& spec = s_.client.retries;
  if (r.attempts > spec.max || !retryable(answer)) {
    finish(requestId, false);
    return;
  }
  if (spec.budgetPercent && !r.retrying) {
    // Envoy's retry budget, as the proxy keeps it: a request takes a retry slot at its first
    // retry and holds it until it ends; slots <= max(min, percent of requests in progress).
    const double allowed =
        std::max(static_cast<double>(spec.budgetMinConcurrency),
                 *spec.budgetPercent / 100.0 * static_cast<double>(activeRequests_));
    if (static_cast<double>(retriesActive_) + 1 > allowed) {
      if (r.measured) {
        ++results_.retriesDenied;
      }
      finish(requestId, false);
      return;
    }
  }
  // Exponential backoff: base × multiplier^(retry - 1), capped, then jittered.
  const double ceiling =
      std::min(static_cast<double>(spec.backoffMax.count()),
               static_cast<double>(spec.backoffBase.count()) *
                   std::pow(spec.backoffMultiplier, static_cast<double>(r.attempts - 1)));
  double delay = ceiling;
  if (spec.jitter == breaker::Jitter::kFull) {
    delay = ceiling * retryRandom_.uniform();
  } else if (spec.jitter == breaker::Jitter::kEqual) {
    delay = ceiling / 2 + ceiling / 2 * retryRandom_.uniform();
  }
  if (!r.retrying) {
    r.retrying = true;
    ++retriesActive_;
  }
  queue_.push(now_ + static_cast<std::int64_t>(delay), kRetry, requestId, 0);
}

void Engine::finish(std::uint32_t requestId, bool success, bool limited) {
  Request& r = requests_[requestId];
  const std::int64_t latency = now_ - r.arrival;
  if (r.measured) {
    if (limited) {
      ++results_.rateLimited;
    } else if (success) {
      ++results_.successes;
      results_.latency.record(latency);
    } else {
      ++results_.failures;
    }
    lastMeasuredEnd_ = std::max(lastMeasuredEnd_, now_);
  }
  if (now_ < duration_ && !limited) {
    if (success) {
      ++results_.timeline.successes[bucketOf(now_)];
    } else {
      ++results_.timeline.failures[bucketOf(now_)];
    }
  }
  --activeRequests_;
  if (r.retrying) {
    --retriesActive_;
  }
  if (r.client != kNone) {
    Source& src = sources_[r.source];
    const std::int64_t next = now_ + static_cast<std::int64_t>(src.spec.think.sample(src.random));
    if (next < src.end) {
      queue_.push(next, kClientWake, r.source, r.client);
    }
  }
  requests_.release(requestId);
}

// ---- Faults ----

void Engine::faultStart(std::size_t f) {
  const FaultSpec& spec = s_.faults[f];
  FaultState& state = faults_[f];
  state.active = true;
  const auto b = static_cast<std::uint32_t>(spec.backend);
  backends_[b].activeFaults.push_back(f);
  logEvent(b, BackendEvent::Kind::kFaultStart);
  if (spec.kind == FaultSpec::Kind::kFlap) {
    state.flapDown = true;  // a flap starts with an outage
    queue_.push(now_ + spec.down.count(), kFlapToggle, static_cast<std::uint32_t>(f), 0);
  }
  applyFaults(b);
  if (!backends_[b].available && !state.detectedAt) {
    state.detectedAt = now_;  // already out of rotation when it began
  }
}

void Engine::faultEnd(std::size_t f) {
  FaultState& state = faults_[f];
  if (!state.active) {
    return;
  }
  const auto b = static_cast<std::uint32_t>(s_.faults[f].backend);
  state.active = false;
  state.flapDown = false;
  auto& active = backends_[b].activeFaults;
  active.erase(std::remove(active.begin(), active.end(), f), active.end());
  logEvent(b, BackendEvent::Kind::kFaultEnd);
  applyFaults(b);
  if (state.detectedAt && backends_[b].available && !state.recoveredAt) {
    state.recoveredAt = now_;  // back in rotation before the fault ended
  }
}

void Engine::flapToggle(std::size_t f) {
  FaultState& state = faults_[f];
  if (!state.active) {
    return;
  }
  const FaultSpec& spec = s_.faults[f];
  state.flapDown = !state.flapDown;
  const std::int64_t next = now_ + (state.flapDown ? spec.down : spec.up).count();
  if (!spec.until || next < spec.until->count()) {
    queue_.push(next, kFlapToggle, static_cast<std::uint32_t>(f), 0);
  }
  applyFaults(static_cast<std::uint32_t>(spec.backend));
}

void Engine::applyFaults(std::uint32_t index) {
  Backend& b = backends_[index];
  int crashed = 0;
  double slow = 1, probeSlow = 1;
  double ok = 1, probeOk = 1;          // survival products for the error rates
  double accept = 1, probeAccept = 1;  // for refusals
  int status = 500;
  for (std::size_t f : b.activeFaults) {
    const FaultSpec& spec = s_.faults[f];
    switch (spec.kind) {
      case FaultSpec::Kind::kCrash:
        ++crashed;
        break;
      case FaultSpec::Kind::kFlap:
        crashed += faults_[f].flapDown ? 1 : 0;
        break;
      case FaultSpec::Kind::kSlow:
        slow *= spec.factor;
        probeSlow *= spec.gray ? 1 : spec.factor;
        break;
      case FaultSpec::Kind::kErrors:
        ok *= 1 - spec.rate;
        probeOk *= spec.gray ? 1 : 1 - spec.rate;
        status = spec.status;
        break;
      case FaultSpec::Kind::kRefuse:
        accept *= 1 - spec.rate;
        probeAccept *= spec.gray ? 1 : 1 - spec.rate;
        break;
    }
  }
  const bool crashes = b.crashed == 0 && crashed > 0;
  b.crashed = crashed;
  b.slow = slow;
  b.probeSlow = probeSlow;
  b.errorRate = 1 - ok;
  b.probeErrorRate = 1 - probeOk;
  b.refuseRate = 1 - accept;
  b.probeRefuseRate = 1 - probeAccept;
  b.errorStatus = status;
  if (crashes) {
    crash(index);
  }
}

// The process dies: everything it held is reset; its clients learn it one round trip later.
void Engine::crash(std::uint32_t index) {
  Backend& b = backends_[index];
  auto drop = [&](std::uint32_t id) {
    Attempt& a = attempts_[id];
    a.backendDone = true;
    a.server = kNone;
    if (a.clientDone) {
      freeAttempt(id);
    } else {
      scheduleAnswer(id, Answer::kReset, 0);
    }
  };
  for (std::uint32_t& id : b.serving) {
    if (id != kNone) {
      drop(id);
      id = kNone;
    }
  }
  while (!b.queue.empty()) {
    drop(b.queue.pop());
  }
  b.idleServers.clear();
  for (int k = b.spec.servers - 1; k >= 0; --k) {
    b.idleServers.push_back(static_cast<std::uint32_t>(k));
  }
}

// ---- Policies ----

std::uint32_t Engine::backendById(std::string_view id) const {
  const auto it = idIndex_.find(id);
  return it == idIndex_.end() ? kNone : it->second;
}

void Engine::logEvent(std::uint32_t b, BackendEvent::Kind kind) {
  if (results_.events.size() < Results::kMaxEvents) {
    results_.events.push_back({seconds(now_), b, kind});
  } else {
    results_.eventsTruncated = true;
  }
}

// Available to the balancer = health up, not ejected, and the breaker not open — the proxy's rule.
// An open breaker becomes pickable again when its interval ends, so that the next pick's allow()
// takes it half-open; in half-open the breaker itself admits only its probes.
void Engine::refreshAvailability(std::uint32_t index) {
  Backend& b = backends_[index];
  const bool admits = b.breakerState != breaker::State::kOpen || now_ >= b.openUntil;
  const bool want = b.healthUp && !b.ejected && admits;
  if (want == b.available) {
    return;
  }
  b.available = want;
  (void)balancer_->setAvailable(b.spec.id, want, at(now_));
  logEvent(index, want ? BackendEvent::Kind::kAvailable : BackendEvent::Kind::kUnavailable);
  if (want) {
    ++available_;
    b.unavailableNs += static_cast<double>(now_ - b.unavailableSince);
  } else {
    --available_;
    b.unavailableSince = now_;
  }
  for (std::size_t f : b.activeFaults) {
    if (!want && !faults_[f].detectedAt) {
      faults_[f].detectedAt = now_;
    }
  }
  if (want) {
    for (std::size_t f = 0; f < faults_.size(); ++f) {
      FaultState& state = faults_[f];
      if (s_.faults[f].backend == index && !state.active && state.detectedAt &&
          !state.recoveredAt && s_.faults[f].until && now_ >= s_.faults[f].until->count()) {
        state.recoveredAt = now_;
      }
    }
  }
}

void Engine::onHealthChange(const health::HealthEvent& event) {
  const std::uint32_t index = backendById(event.endpoint);
  if (index == kNone) {
    return;
  }
  Backend& b = backends_[index];
  using S = health::HealthState;
  if (event.to == S::kDown) {
    b.healthUp = false;
    logEvent(index, BackendEvent::Kind::kHealthDown);
  } else if (event.to == S::kEjected) {
    b.ejected = true;
    ++b.result.ejections;
    logEvent(index, BackendEvent::Kind::kEjected);
  } else if (event.from == S::kDown) {
    b.healthUp = true;
    logEvent(index, BackendEvent::Kind::kHealthUp);
  } else if (event.from == S::kEjected) {
    b.ejected = false;
    logEvent(index, BackendEvent::Kind::kUnejected);
  }
  refreshAvailability(index);
  if (outlier_ && (event.to == S::kEjected || event.from == S::kEjected)) {
    scheduleOutlierWake();
  }
}

void Engine::onBreakerTransition(std::uint32_t index, const breaker::Transition& t) {
  Backend& b = backends_[index];
  b.breakerState = t.to;
  switch (t.to) {
    case breaker::State::kOpen:
      b.openUntil = fromTimePoint(t.at) + t.openFor.count();
      ++b.openGeneration;
      ++b.result.breakerTrips;
      if (b.result.breakerOpen.size() < Results::kMaxEvents) {
        b.result.breakerOpen.push_back(
            {seconds(fromTimePoint(t.at)), seconds(t.openFor.count()), t.trip});
      }
      queue_.push(std::max(now_, b.openUntil), kBreakerElapsed, index, b.openGeneration);
      logEvent(index, BackendEvent::Kind::kBreakerOpen);
      break;
    case breaker::State::kHalfOpen:
      logEvent(index, BackendEvent::Kind::kBreakerHalfOpen);
      break;
    case breaker::State::kClosed:
      logEvent(index, BackendEvent::Kind::kBreakerClosed);
      break;
  }
  refreshAvailability(index);
}

void Engine::scheduleHealthWake() {
  const std::optional<TimePoint> next = checker_->nextProbeAt(at(now_));
  if (!next) {
    return;
  }
  const std::int64_t t = fromTimePoint(*next);
  if (healthWakeAt_ >= 0 && healthWakeAt_ <= t) {
    return;
  }
  healthWakeAt_ = t;
  queue_.push(t, kHealthWake, 0, 0);
}

void Engine::healthWake(const Event& e) {
  if (e.time != healthWakeAt_) {
    return;  // superseded by an earlier wake
  }
  healthWakeAt_ = -1;
  for (const health::ProbeTarget& target : checker_->takeDueProbes(at(now_))) {
    const std::uint32_t index = backendById(target.endpoint);
    if (index == kNone) {
      continue;
    }
    Backend& b = backends_[index];
    ++b.result.probes;
    health::ProbeResult result;
    const std::int64_t timeout = target.probe.timeout.count();
    std::int64_t latency = s_.rtt.count();
    if (b.crashed > 0 || (b.probeRefuseRate > 0 && probeRandom_.uniform() < b.probeRefuseRate)) {
      result.reason = "connection refused";
    } else {
      latency +=
          static_cast<std::int64_t>(static_cast<double>(s_.probeLatency.count()) * b.probeSlow);
      if (latency >= timeout) {
        latency = timeout;
        result.reason = "timeout";
      } else if (b.probeErrorRate > 0 && probeRandom_.uniform() < b.probeErrorRate) {
        result.statusCode = b.errorStatus;
        result.reason = "status " + std::to_string(b.errorStatus);
      } else {
        result.statusCode = 200;
        result.success = true;
      }
    }
    result.latency = Duration(latency);
    b.pendingProbe = std::move(result);
    queue_.push(now_ + latency, kProbeResult, index, 0);
  }
  scheduleHealthWake();
}

void Engine::probeResult(std::uint32_t index) {
  Backend& b = backends_[index];
  (void)checker_->recordProbe(b.spec.id, b.pendingProbe, at(now_));
  scheduleHealthWake();
}

void Engine::scheduleOutlierWake() {
  if (!outlier_) {
    return;
  }
  const std::optional<TimePoint> next = outlier_->nextUpdateAt();
  if (!next) {
    return;
  }
  const std::int64_t t = std::max(now_, fromTimePoint(*next));
  if (outlierWakeAt_ >= 0 && outlierWakeAt_ <= t) {
    return;
  }
  outlierWakeAt_ = t;
  queue_.push(t, kOutlierWake, 0, 0);
}

// ---- Results ----

Results Engine::collect() {
  Results& r = results_;
  r.scenario = s_.name;
  r.algorithm = algorithm_;
  r.seed = seed_;
  r.measuredSeconds = seconds(duration_ - warmup_);
  r.simulatedSeconds = seconds(std::max(now_, lastMeasuredEnd_));
  const double measured = r.measuredSeconds > 0 ? r.measuredSeconds : 1;
  const std::uint64_t answered = r.successes + r.failures + r.rateLimited;
  r.unfinished = r.requests - answered;
  r.throughput = static_cast<double>(answered) / measured;
  r.goodput = static_cast<double>(r.successes) / measured;
  const std::uint64_t judged = r.successes + r.failures;
  r.errorRate = judged == 0 ? 0 : static_cast<double>(r.failures) / static_cast<double>(judged);
  r.success = summarize(r.latency);

  double totalWeight = 0;
  std::uint64_t totalAttempts = 0;
  for (const Backend& b : backends_) {
    totalWeight += static_cast<double>(b.spec.weight);
    totalAttempts += b.result.attempts;
  }
  double sumX = 0, sumX2 = 0;
  for (Backend& b : backends_) {
    BackendResult& out = b.result;
    out.weightShare = static_cast<double>(b.spec.weight) / totalWeight;
    out.loadShare = totalAttempts == 0
                        ? 0
                        : static_cast<double>(out.attempts) / static_cast<double>(totalAttempts);
    const double started = static_cast<double>(b.started);
    out.waitProbability = b.started == 0 ? 0 : static_cast<double>(b.waited) / started;
    out.meanWaitMs = b.started == 0 ? 0 : b.waitSum / started / 1e6;
    out.meanServiceMs = b.started == 0 ? 0 : b.serviceSum / started / 1e6;
    out.utilization = b.serviceSum / (static_cast<double>(b.spec.servers) * measured * 1e9);
    double unavailable = b.unavailableNs;
    if (!b.available) {
      unavailable += static_cast<double>(now_ - b.unavailableSince);
    }
    out.unavailableSeconds = unavailable * 1e-9;
    const double x = out.loadShare / out.weightShare;
    sumX += x;
    sumX2 += x * x;
    r.backends.push_back(std::move(out));
  }
  const double n = static_cast<double>(backends_.size());
  r.jain = sumX2 == 0 ? 0 : sumX * sumX / (n * sumX2);

  for (std::size_t f = 0; f < faults_.size(); ++f) {
    const FaultSpec& spec = s_.faults[f];
    const FaultState& state = faults_[f];
    FaultResult out;
    out.backend = s_.backends[spec.backend].id;
    out.kind = std::string(toString(spec.kind));
    if (spec.gray) {
      out.kind += " (gray)";
    }
    out.start = seconds(spec.at.count());
    if (spec.until) {
      out.end = seconds(spec.until->count());
    }
    if (state.detectedAt) {
      out.detectedAfter = seconds(*state.detectedAt - spec.at.count());
    }
    if (state.recoveredAt && spec.until) {
      out.recoveredAfter = seconds(*state.recoveredAt - spec.until->count());
    }
    r.faults.push_back(std::move(out));
  }
  return std::move(r);
}

}  // namespace

LatencySummary summarize(const Histogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.mean = h.mean() / 1e6;
  s.p50 = h.quantile(0.5) / 1e6;
  s.p90 = h.quantile(0.9) / 1e6;
  s.p99 = h.quantile(0.99) / 1e6;
  s.p999 = h.quantile(0.999) / 1e6;
  s.max = static_cast<double>(h.max()) / 1e6;
  return s;
}

std::string_view toString(BackendEvent::Kind kind) {
  using K = BackendEvent::Kind;
  switch (kind) {
    case K::kAvailable:
      return "available";
    case K::kUnavailable:
      return "unavailable";
    case K::kHealthDown:
      return "health_down";
    case K::kHealthUp:
      return "health_up";
    case K::kEjected:
      return "ejected";
    case K::kUnejected:
      return "unejected";
    case K::kBreakerOpen:
      return "breaker_open";
    case K::kBreakerHalfOpen:
      return "breaker_half_open";
    case K::kBreakerClosed:
      return "breaker_closed";
    case K::kFaultStart:
      return "fault_start";
    case K::kFaultEnd:
      return "fault_end";
  }
  return "?";
}

Result<Results> simulate(const Scenario& scenario, const RunOptions& options) {
  Engine engine(scenario, options);
  return engine.run();
}

}  // namespace fairway::sim
