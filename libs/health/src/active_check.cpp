#include <algorithm>
#include <cmath>

#include <fairway/health/active_check.hpp>

namespace fairway::health {
namespace {

bool startsUp(InitialState initial) {
  return initial == InitialState::kUp || initial == InitialState::kFullyUp;
}

// HAProxy's `up` and `down` start one result away from the other state; the `fully-` ones need
// the whole count.
bool startsFragile(InitialState initial) {
  return initial == InitialState::kUp || initial == InitialState::kDown;
}

}  // namespace

ActiveCheck::ActiveCheck(const HealthCheckConfig& config, InitialState initial, TimePoint now,
                         std::uint64_t seed)
    : rise_(config.rise),
      fall_(config.fall),
      interval_(config.interval),
      fastInterval_(config.fastInterval.value_or(config.interval)),
      downInterval_(config.downInterval.value_or(config.interval)),
      jitter_(config.jitterPercent / 100.0),
      random_(seed),
      up_(startsUp(initial)),
      remaining_(startsFragile(initial) ? 1 : (up_ ? fall_ : rise_)),
      dueAt_(now) {
  if (jitter_ > 0) {
    // Spreads the first probes of endpoints added together over part of an interval.
    const double spread = random_.uniform() * jitter_ * static_cast<double>(interval_.count());
    dueAt_ += std::chrono::nanoseconds(std::llround(spread));
  }
}

std::optional<Transition> ActiveCheck::recordProbe(const ProbeResult& result, TimePoint now) {
  std::optional<Transition> change;
  if (result.success == up_) {
    remaining_ = up_ ? fall_ : rise_;
  } else if (--remaining_ == 0) {
    const HealthState from = state();
    up_ = !up_;
    remaining_ = up_ ? fall_ : rise_;
    change = Transition{from, state(), up_ ? Reason::kProbesPassed : Reason::kProbesFailed};
  }
  dueAt_ = now + jittered(currentInterval());
  return change;
}

std::chrono::nanoseconds ActiveCheck::currentInterval() const {
  if (transitioning()) {
    return fastInterval_;
  }
  return up_ ? interval_ : downInterval_;
}

std::chrono::nanoseconds ActiveCheck::jittered(std::chrono::nanoseconds delay) {
  if (jitter_ <= 0) {
    return delay;
  }
  const double factor = 1.0 + jitter_ * (2.0 * random_.uniform() - 1.0);
  const auto ns = std::llround(static_cast<double>(delay.count()) * factor);
  return std::chrono::nanoseconds(std::max<long long>(1, ns));
}

}  // namespace fairway::health
