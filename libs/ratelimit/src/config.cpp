// validate(): every check make() relies on, with messages that name the field as the YAML does.

#include <charconv>
#include <cmath>
#include <string>

#include <fairway/ratelimit/config.hpp>
#include <fairway/ratelimit/limiter.hpp>

#include "kernels.hpp"

namespace fairway::ratelimit {
namespace {

constexpr std::size_t kMaxKeys = std::size_t{1} << 28;  // 4 to 8 GiB of table
constexpr std::size_t kMaxShards = std::size_t{1} << 16;

std::string str(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "?";
}

std::string str(std::chrono::nanoseconds value) {
  return std::to_string(value.count()) + "ns";
}

Error invalid(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message};
}

bool isBucket(const std::string& algorithm) {
  return algorithm == "token_bucket" || algorithm == "gcra";
}

}  // namespace

const std::vector<std::string>& algorithmNames() {
  static const std::vector<std::string> names = {"token_bucket", "gcra", "sliding_window"};
  return names;
}

Status validate(const Config& config) {
  bool known = false;
  std::string names;
  for (const std::string& name : algorithmNames()) {
    known = known || name == config.algorithm;
    names += (names.empty() ? "" : ", ") + name;
  }
  if (!known) {
    return Error{ErrorCode::kUnknownAlgorithm, "rate_limit.algorithm: unknown algorithm '" +
                                                   config.algorithm + "' (known: " + names + ")"};
  }

  // Every field is checked, whatever the algorithm; spans only where the algorithm uses them.
  const double rps = config.rate.requestsPerSecond;
  if (!(rps > 0)) {
    return invalid("rate_limit.requests_per_second: must be > 0 (got " + str(rps) + ")");
  }
  if (!(rps <= internal::kMaxRequestsPerSecond)) {
    return invalid("rate_limit.requests_per_second: must be at most 1e9, one per nanosecond (got " +
                   str(rps) + ")");
  }
  if (config.rate.burst < 1) {
    return invalid("rate_limit.burst: must be >= 1 (got " + std::to_string(config.rate.burst) +
                   ")");
  }
  // The same integer test as BucketLimit::of(): burst × T must stay within kMaxSpanNs.
  if (isBucket(config.algorithm) &&
      config.rate.burst > internal::kMaxSpanNs / internal::emissionInterval(rps)) {
    return invalid(
        "rate_limit.burst: refilling a whole burst (burst / requests_per_second) must "
        "take at most 10 years (got " +
        str(static_cast<double>(config.rate.burst) / rps) + " s)");
  }
  if (config.window.count() <= 0) {
    return invalid("rate_limit.window: must be > 0 (got " + str(config.window) + ")");
  }
  if (config.window.count() > internal::kMaxSpanNs) {
    return invalid("rate_limit.window: must be at most 10 years (got " + str(config.window) + ")");
  }
  if (config.maxKeys < 1 || config.maxKeys > kMaxKeys) {
    return invalid("rate_limit.max_keys: must be in [1, " + std::to_string(kMaxKeys) + "] (got " +
                   std::to_string(config.maxKeys) + ")");
  }
  if (config.shards < 1 || config.shards > kMaxShards ||
      (config.shards & (config.shards - 1)) != 0) {
    return invalid("rate_limit.shards: must be a power of two in [1, " +
                   std::to_string(kMaxShards) + "] (got " + std::to_string(config.shards) + ")");
  }
  return {};
}

}  // namespace fairway::ratelimit
