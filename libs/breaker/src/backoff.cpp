#include <algorithm>
#include <cmath>

#include <fairway/breaker/backoff.hpp>

namespace fairway::breaker {

Backoff::Backoff(const BackoffConfig& config, std::uint64_t seed)
    : config_(config), random_(seed), ceilingNs_(static_cast<double>(config.base.count())) {}

Duration Backoff::next() {
  const Duration ceiling = this->ceiling();
  // Multiplying the previous ceiling (rather than computing base × multiplier^k with pow) keeps
  // the sequence exact for the usual multipliers and cannot overflow: it stops growing at max.
  ceilingNs_ = std::min(ceilingNs_ * config_.multiplier, static_cast<double>(config_.max.count()));
  ++trips_;
  const auto c = static_cast<std::uint64_t>(ceiling.count());
  switch (config_.jitter) {
    case Jitter::kNone:
      return ceiling;
    case Jitter::kFull:
      return Duration(static_cast<Duration::rep>(random_.below(c + 1)));
    case Jitter::kEqual:
      return Duration(static_cast<Duration::rep>(c / 2 + random_.below(c - c / 2 + 1)));
  }
  return ceiling;
}

Duration Backoff::ceiling() const {
  return Duration(std::llround(ceilingNs_));
}

void Backoff::reset() {
  trips_ = 0;
  ceilingNs_ = static_cast<double>(config_.base.count());
}

}  // namespace fairway::breaker
