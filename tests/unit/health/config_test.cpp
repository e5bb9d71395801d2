// Configuration validation: the defaults pass, and each bad field gets an error naming its YAML
// key, the rule and the value.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/health/config.hpp>
#include <fairway/health/health_checker.hpp>
#include <fairway/health/outlier_detector.hpp>
#include <fairway/health/version.hpp>

#include "test_util.hpp"

namespace fairway::health {
namespace {

using namespace std::chrono_literals;

struct HealthCheckCase {
  std::function<void(HealthCheckConfig&)> change;
  std::string message;
};

struct OutlierCase {
  std::function<void(OutlierConfig&)> change;
  std::string message;
};

// The defaults are valid, and make...() builds from them.
TEST(ConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(validate(HealthCheckConfig{}).ok());
  EXPECT_TRUE(validate(OutlierConfig{}).ok());
  EXPECT_TRUE(makeHealthChecker({}).ok());
  EXPECT_TRUE(makeOutlierDetector({}).ok());
}

// Each bad health_check field, alone, gets its own message.
TEST(ConfigTest, HealthCheckErrorsNameTheField) {
  const std::vector<HealthCheckCase> cases = {
      {[](auto& c) { c.rise = 0; }, "health_check.rise: must be >= 1 (got 0)"},
      {[](auto& c) { c.fall = -2; }, "health_check.fall: must be >= 1 (got -2)"},
      {[](auto& c) { c.interval = 0s; }, "health_check.interval: must be > 0 (got 0ns)"},
      {[](auto& c) { c.interval = -5s; }, "health_check.interval: must be > 0 (got -5s)"},
      {[](auto& c) { c.interval = 9000h; },
       "health_check.interval: must be at most 8760h (got 9000h)"},
      {[](auto& c) { c.fastInterval = 0ms; }, "health_check.fast_interval: must be > 0 (got 0ns)"},
      {[](auto& c) { c.downInterval = -250ms; },
       "health_check.down_interval: must be > 0 (got -250ms)"},
      {[](auto& c) { c.probe.timeout = 0s; }, "health_check.timeout: must be > 0 (got 0ns)"},
      {[](auto& c) { c.jitterPercent = 60; },
       "health_check.jitter_percent: must be in [0, 50] (got 60)"},
      {[](auto& c) { c.jitterPercent = -1; },
       "health_check.jitter_percent: must be in [0, 50] (got -1)"},
      {[](auto& c) { c.probe.path = "health"; },
       "health_check.path: must start with '/' (got \"health\")"},
      {[](auto& c) { c.probe.path.clear(); }, "health_check.path: must start with '/' (got \"\")"},
      {[](auto& c) { c.probe.expectedStatuses.clear(); },
       "health_check.expected_statuses: must list at least one status range"},
      {[](auto& c) {
         c.probe.expectedStatuses = {{200, 299}, {300, 200}};
       },
       "health_check.expected_statuses[1]: must be a range from <= to within [100, 599] "
       "(got 300-200)"},
      {[](auto& c) {
         c.probe.expectedStatuses = {{200, 600}};
       },
       "health_check.expected_statuses[0]: must be a range from <= to within [100, 599] "
       "(got 200-600)"},
      {[](auto& c) { c.initialState = static_cast<InitialState>(9); },
       "health_check.initial_state: must be up, fully_up, down or fully_down (got 9)"},
  };
  for (const HealthCheckCase& test : cases) {
    HealthCheckConfig config;
    test.change(config);
    const Status s = validate(config);
    ASSERT_FALSE(s.ok()) << test.message;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.message(), test.message);
  }
}

// Each bad outlier field, alone, gets its own message.
TEST(ConfigTest, OutlierErrorsNameTheField) {
  const std::vector<OutlierCase> cases = {
      {[](auto& c) { c.interval = 0s; }, "outlier.interval: must be > 0 (got 0ns)"},
      {[](auto& c) { c.baseEjectionTime = -1s; },
       "outlier.base_ejection_time: must be > 0 (got -1s)"},
      {[](auto& c) { c.baseEjectionTime = 0s; },
       "outlier.base_ejection_time: must be > 0 (got 0ns)"},
      {[](auto& c) { c.maxEjectionTime = 10s; },
       "outlier.max_ejection_time: must be >= outlier.base_ejection_time (30s) (got 10s)"},
      {[](auto& c) { c.maxEjectionPercent = 120; },
       "outlier.max_ejection_percent: must be in [0, 100] (got 120)"},
      {[](auto& c) { c.maxEjectionPercent = -0.5; },
       "outlier.max_ejection_percent: must be in [0, 100] (got -0.5)"},
      {[](auto& c) { c.maxEjectionPercent = std::nan(""); },
       "outlier.max_ejection_percent: must be in [0, 100] (got nan)"},
      {[](auto& c) { c.consecutive5xx = -1; }, "outlier.consecutive_5xx: must be >= 0 (got -1)"},
      {[](auto& c) { c.consecutiveGatewayFailure = -3; },
       "outlier.consecutive_gateway_failure: must be >= 0 (got -3)"},
      {[](auto& c) { c.failurePercentageThreshold = 101; },
       "outlier.failure_percentage_threshold: must be in [0, 100] (got 101)"},
      {[](auto& c) { c.failurePercentageMinimumHosts = -1; },
       "outlier.failure_percentage_minimum_hosts: must be >= 0 (got -1)"},
      {[](auto& c) { c.failurePercentageRequestVolume = 0; },
       "outlier.failure_percentage_request_volume: must be >= 1 (got 0)"},
  };
  for (const OutlierCase& test : cases) {
    OutlierConfig config;
    test.change(config);
    const Status s = validate(config);
    ASSERT_FALSE(s.ok()) << test.message;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.message(), test.message);
  }
}

// The factories refuse what validate() refuses, with the same message.
TEST(ConfigTest, FactoriesReportValidationErrors) {
  HealthCheckConfig check;
  check.rise = 0;
  auto checker = makeHealthChecker(check);
  ASSERT_FALSE(checker.ok());
  EXPECT_EQ(checker.error().message, "health_check.rise: must be >= 1 (got 0)");

  OutlierConfig outlier;
  outlier.maxEjectionPercent = 120;
  auto detector = makeOutlierDetector(outlier);
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.error().message,
            "outlier.max_ejection_percent: must be in [0, 100] (got 120)");
}

// Boundary values are accepted: rise/fall 1, jitter 0 and 50, percentages 0 and 100, max equal
// to base, thresholds 0 (off).
TEST(ConfigTest, BoundaryValuesAreValid) {
  HealthCheckConfig check;
  check.rise = 1;
  check.fall = 1;
  check.jitterPercent = 50;
  check.probe.expectedStatuses = {{100, 599}};
  EXPECT_TRUE(validate(check).ok());
  check.jitterPercent = 0;
  EXPECT_TRUE(validate(check).ok());

  OutlierConfig outlier;
  outlier.maxEjectionPercent = 0;
  outlier.failurePercentageThreshold = 100;
  outlier.consecutive5xx = 0;
  outlier.failurePercentageMinimumHosts = 0;
  outlier.maxEjectionTime = outlier.baseEjectionTime;
  EXPECT_TRUE(validate(outlier).ok());
  outlier.maxEjectionPercent = 100;
  EXPECT_TRUE(validate(outlier).ok());
}

// The version CMake reads.
TEST(ConfigTest, VersionIsDeclared) {
  EXPECT_EQ(kVersion, "0.1.0");
}

}  // namespace
}  // namespace fairway::health
