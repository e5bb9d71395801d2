// Balancer itself: validation, membership, availability, panic mode and concurrency, for every
// algorithm. Each algorithm's own sequence is tested in its own file.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fairway/balancer/balancer.hpp>
#include <fairway/balancer/random.hpp>
#include <fairway/balancer/version.hpp>

#include "test_util.hpp"

namespace fairway::balancer {
namespace {

using namespace std::chrono_literals;
using test::contextAt;
using test::countPicks;
using test::endpointsNamed;
using test::hold;
using test::makeBalancer;
using test::makeOrDie;
using test::pickId;
using test::pickSequence;
using test::statusOf;
using test::t0;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error make() returns for `config`; a default error with an empty message if it succeeds.
Error makeError(const Config& config) {
  auto result = make(config);
  if (result) {
    ADD_FAILURE() << "make() accepted the configuration";
    return {ErrorCode::kInvalidArgument, ""};
  }
  return result.error();
}

Config configWith(std::vector<EndpointConfig> endpoints, std::string algorithm = "round_robin") {
  Config config;
  config.algorithm = std::move(algorithm);
  config.endpoints = std::move(endpoints);
  return config;
}

// --- Validation -------------------------------------------------------------------------------

TEST(BalancerTest, VersionIsDeclared) {
  EXPECT_FALSE(kVersion.empty());
}

// An unknown algorithm name is refused, and the message repeats the name.
TEST(BalancerTest, UnknownAlgorithmIsRefused) {
  const Error error = makeError(configWith(endpointsNamed({"a"}), "fastest_first"));

  EXPECT_EQ(error.code, ErrorCode::kUnknownAlgorithm);
  EXPECT_THAT(error.message, HasSubstr("fastest_first"));
}

// Every documented name builds a balancer that picks, including the three original names.
TEST(BalancerTest, EveryAlgorithmNameIsAccepted) {
  for (const char* name : {"round_robin", "least_connections", "weighted_round_robin"}) {
    EXPECT_TRUE(make(configWith(endpointsNamed({"a"}), name)).ok()) << name;
  }
  for (const std::string& name : algorithmNames()) {
    auto result = make(configWith(endpointsNamed({"a"}), name));
    ASSERT_TRUE(result.ok()) << name << ": " << result.error().message;
    EXPECT_EQ(pickId(*result.value(), contextAt(t0)), "a") << name;
  }
}

// Weights 0 and -3 in the configuration are refused, naming the endpoint's position.
TEST(BalancerTest, NonPositiveWeightInConfigIsRefused) {
  for (const std::int64_t weight : {std::int64_t{0}, std::int64_t{-3}, kMaxWeight + 1}) {
    const Error error = makeError(configWith(endpointsNamed({"a", "b"}, {1, weight})));

    EXPECT_EQ(error.code, ErrorCode::kInvalidWeight) << weight;
    EXPECT_THAT(error.message, StartsWith("endpoints[1]: "));
    EXPECT_THAT(error.message, HasSubstr(std::to_string(weight)));
  }
}

// The largest allowed weight is accepted.
TEST(BalancerTest, MaxWeightIsAccepted) {
  EXPECT_TRUE(make(configWith(endpointsNamed({"a"}, {kMaxWeight}))).ok());
}

// Weights 0 and -3 are refused by add() and setWeight(), which leave the set unchanged.
TEST(BalancerTest, NonPositiveWeightAtRuntimeIsRefused) {
  auto balancer = makeOrDie(configWith(endpointsNamed({"a"})));

  for (const std::int64_t weight : {std::int64_t{0}, std::int64_t{-3}}) {
    const Status added = balancer->add({"b", "10.0.0.2:80", weight, true}, t0);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code, ErrorCode::kInvalidWeight);

    const Status reweighted = balancer->setWeight("a", weight);
    ASSERT_FALSE(reweighted.ok());
    EXPECT_EQ(reweighted.error().code, ErrorCode::kInvalidWeight);
  }
  EXPECT_EQ(balancer->size(), 1u);
  EXPECT_EQ(statusOf(*balancer, "a").weight, 1);
}

// A repeated id in the configuration is refused, naming both positions.
TEST(BalancerTest, DuplicateIdInConfigIsRefused) {
  const Error error = makeError(configWith(endpointsNamed({"a", "b", "a"})));

  EXPECT_EQ(error.code, ErrorCode::kDuplicateId);
  EXPECT_THAT(error.message, StartsWith("endpoints[2]: "));
  EXPECT_THAT(error.message, HasSubstr("endpoints[0]"));
}

// add() refuses an id already present.
TEST(BalancerTest, DuplicateIdOnAddIsRefused) {
  auto balancer = makeOrDie(configWith(endpointsNamed({"a", "b"})));

  const Status status = balancer->add({"b", "10.9.9.9:80", 1, true}, t0);

  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kDuplicateId);
  EXPECT_THAT(status.message(), HasSubstr("'b'"));
  EXPECT_EQ(balancer->size(), 2u);
  EXPECT_EQ(statusOf(*balancer, "b").address, "10.0.0.2:80");
}

// remove(), setWeight() and setAvailable() of an unknown id report kNotFound, naming it.
TEST(BalancerTest, UnknownIdIsNotFound) {
  auto balancer = makeOrDie(configWith(endpointsNamed({"a"})));

  for (const Status& status : {balancer->remove("zz"), balancer->setWeight("zz", 2),
                               balancer->setAvailable("zz", false, t0)}) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
    EXPECT_THAT(status.message(), HasSubstr("zz"));
  }
}

// An empty id is an invalid argument, in the configuration and in add().
TEST(BalancerTest, EmptyIdIsRefused) {
  const Error error = makeError(configWith(endpointsNamed({"a", ""})));
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message, StartsWith("endpoints[1]: "));

  auto balancer = makeOrDie(configWith(endpointsNamed({"a"})));
  const Status status = balancer->add({"", "10.0.0.2:80", 1, true}, t0);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
}

// Out-of-range options are invalid arguments whose message names the option.
TEST(BalancerTest, BadOptionsAreRefusedByName) {
  struct Case {
    std::string key;
    std::function<void(Config&)> spoil;
  };
  const std::vector<Case> cases = {
      {"slow_start.aggression", [](Config& c) { c.slowStart.aggression = 0; }},
      {"slow_start.aggression", [](Config& c) { c.slowStart.aggression = -1; }},
      {"slow_start.window", [](Config& c) { c.slowStart.window = -1s; }},
      {"slow_start.min_weight_percent", [](Config& c) { c.slowStart.minWeightPercent = 0; }},
      {"slow_start.min_weight_percent", [](Config& c) { c.slowStart.minWeightPercent = 101; }},
      {"slow_start.steps", [](Config& c) { c.slowStart.steps = 0; }},
      {"panic.threshold", [](Config& c) { c.panic.threshold = 1.5; }},
      {"panic.threshold", [](Config& c) { c.panic.threshold = -0.1; }},
      {"hash.balance_factor", [](Config& c) { c.hash.balanceFactor = 0.5; }},
      {"hash.balance_factor", [](Config& c) { c.hash.balanceFactor = 1.0; }},
      {"hash.points_per_endpoint", [](Config& c) { c.hash.pointsPerEndpoint = 0; }},
      {"hash.points_per_endpoint", [](Config& c) { c.hash.pointsPerEndpoint = 4097; }},
      {"ewma.decay", [](Config& c) { c.ewma.decay = 0s; }},
      {"ewma.penalty", [](Config& c) { c.ewma.penalty = -1s; }},
  };
  for (const Case& c : cases) {
    Config config = configWith(endpointsNamed({"a"}), "consistent_hash");
    c.spoil(config);

    const Error error = makeError(config);

    EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << c.key;
    EXPECT_THAT(error.message, HasSubstr(c.key));
  }
}

// The boundaries of each option's range are accepted.
TEST(BalancerTest, OptionBoundariesAreAccepted) {
  Config config = configWith(endpointsNamed({"a"}), "consistent_hash");
  config.slowStart.minWeightPercent = 100;
  config.slowStart.steps = 1;
  config.panic.threshold = 1.0;
  config.hash.pointsPerEndpoint = 4096;
  config.hash.balanceFactor = 1.01;
  config.ewma.penalty = 0s;

  EXPECT_TRUE(make(config).ok());
}

// --- Membership -------------------------------------------------------------------------------

// add() and remove() change what endpoints() and size() report.
TEST(BalancerTest, AddAndRemoveChangeTheSet) {
  auto balancer = makeOrDie(configWith(endpointsNamed({"a", "b"})));

  ASSERT_TRUE(balancer->add({"c", "10.0.0.3:80", 4, true}, t0).ok());
  EXPECT_EQ(balancer->size(), 3u);
  EXPECT_EQ(statusOf(*balancer, "c").weight, 4);
  EXPECT_EQ(statusOf(*balancer, "c").address, "10.0.0.3:80");

  ASSERT_TRUE(balancer->remove("a").ok());
  EXPECT_EQ(balancer->size(), 2u);
  std::vector<std::string> ids;
  for (const EndpointStatus& status : balancer->endpoints()) {
    ids.push_back(status.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(pickSequence(*balancer, 4), "bcbc");
}

// Stands for another thread's remove() landing between a pick's snapshot load and its lease: on
// its next pick it removes `victim` from `balancer`, then answers with that very endpoint from the
// snapshot the pick started from. Single-threaded, so the interleaving is deterministic.
struct RemoveDuringPick {
  Balancer* balancer = nullptr;
  std::string victim;
  bool removed = false;
};

class RemovingPicker final : public Picker {
 public:
  RemovingPicker(std::shared_ptr<RemoveDuringPick> plan, const Snapshot* snapshot)
      : plan_(std::move(plan)), snapshot_(snapshot) {}

  // fairway::balancer::Picker
  std::unique_ptr<Picker> rebuild(const Snapshot& next) const override {
    return std::make_unique<RemovingPicker>(plan_, &next);
  }
  std::size_t pick(const PickContext&, Random&) override {
    std::size_t chosen = 0;
    for (std::size_t i = 0; i < snapshot_->candidates.size(); ++i) {
      if (snapshot_->candidates[i].endpoint->id() == plan_->victim) {
        chosen = i;
      }
    }
    if (plan_->balancer != nullptr && !plan_->removed) {
      plan_->removed = plan_->balancer->remove(plan_->victim).ok();
    }
    return chosen;
  }

 private:
  std::shared_ptr<RemoveDuringPick> plan_;
  const Snapshot* snapshot_;
};

// A lease on an endpoint removed while the pick was under way keeps the endpoint alive until its
// release, as a lease on an endpoint removed later does (the README: "The Endpoint* stays valid
// until then, even if the endpoint is removed meanwhile"). Under ASan a violation is a
// heap-use-after-free in release().
TEST(BalancerTest, LeaseOnEndpointRemovedDuringPickOutlivesTheRemoval) {
  auto plan = std::make_shared<RemoveDuringPick>();
  plan->victim = "x";
  Balancer balancer(configWith(endpointsNamed({"a", "x"})),
                    std::make_unique<RemovingPicker>(plan, nullptr));
  plan->balancer = &balancer;

  const std::optional<Pick> lease = balancer.pick(contextAt(t0));
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(plan->removed);
  EXPECT_EQ(balancer.size(), 1u);
  EXPECT_EQ(lease->endpoint->id(), "x");
  EXPECT_EQ(lease->endpoint->inFlight(), 1);

  balancer.release(*lease);  // must not touch freed memory
  EXPECT_EQ(statusOf(balancer, "a").inFlight, 0);
}

// --- Every algorithm ----------------------------------------------------------------------------

class EveryAlgorithmTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Balancer> build(std::vector<EndpointConfig> endpoints) {
    return makeOrDie(configWith(std::move(endpoints), GetParam()));
  }
  // Picks without a key: consistent_hash then draws one from `random_`.
  PickContext context() { return contextAt(t0, &random_); }

  Random random_{11};
};

INSTANTIATE_TEST_SUITE_P(Algorithms, EveryAlgorithmTest, ::testing::ValuesIn(algorithmNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

// No endpoints: nothing to pick.
TEST_P(EveryAlgorithmTest, EmptySetPicksNothing) {
  auto balancer = build({});

  EXPECT_FALSE(balancer->pick(context()).has_value());
  EXPECT_FALSE(balancer->pick({.now = t0, .hash = hashKey("k"), .random = &random_}).has_value());

  // Emptied at runtime: the same.
  ASSERT_TRUE(balancer->add({"a", "10.0.0.1:80", 1, true}, t0).ok());
  EXPECT_EQ(pickId(*balancer, context()), "a");
  ASSERT_TRUE(balancer->remove("a").ok());
  EXPECT_FALSE(balancer->pick(context()).has_value());
}

// Every endpoint unavailable: nothing to pick, whether configured so or marked so later.
TEST_P(EveryAlgorithmTest, AllUnavailablePicksNothing) {
  auto endpoints = endpointsNamed({"a", "b", "c"});
  for (EndpointConfig& endpoint : endpoints) {
    endpoint.available = false;
  }
  auto configured = build(endpoints);
  EXPECT_FALSE(configured->pick(context()).has_value());
  EXPECT_FALSE(configured->panicking());

  auto marked = build(endpointsNamed({"a", "b", "c"}));
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(marked->setAvailable(id, false, t0).ok());
  }
  EXPECT_FALSE(marked->pick(context()).has_value());
  EXPECT_FALSE(marked->pick({.now = t0, .hash = hashKey("k"), .random = &random_}).has_value());
}

// Unavailable endpoints are never picked; once available again they are picked again.
TEST_P(EveryAlgorithmTest, UnavailableEndpointsAreNeverPicked) {
  auto balancer = build(endpointsNamed({"a", "b", "c", "d"}));
  ASSERT_TRUE(balancer->setAvailable("b", false, t0).ok());
  ASSERT_TRUE(balancer->setAvailable("d", false, t0).ok());
  EXPECT_FALSE(statusOf(*balancer, "b").available);

  const std::map<std::string, int> during = countPicks(*balancer, 1000, context());
  EXPECT_EQ(during.count("b"), 0u);
  EXPECT_EQ(during.count("d"), 0u);
  EXPECT_EQ(during.count("-"), 0u);
  EXPECT_GT(during.at("a"), 0);
  EXPECT_GT(during.at("c"), 0);

  ASSERT_TRUE(balancer->setAvailable("b", true, t0 + 1s).ok());
  ASSERT_TRUE(balancer->setAvailable("d", true, t0 + 1s).ok());
  const std::map<std::string, int> after = countPicks(*balancer, 1000, context());
  EXPECT_EQ(after.size(), 4u);
  EXPECT_EQ(after.count("-"), 0u);
}

// In-flight counts survive reweighting, availability changes and other endpoints joining.
TEST_P(EveryAlgorithmTest, MembershipChangesKeepInFlightCounts) {
  auto balancer = build(endpointsNamed({"a", "b"}));
  const Pick lease = hold(*balancer, context());
  const std::string id = lease.endpoint->id();
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 1);

  ASSERT_TRUE(balancer->setWeight(id, 7).ok());
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 1);
  ASSERT_TRUE(balancer->setAvailable(id, false, t0).ok());
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 1);
  ASSERT_TRUE(balancer->setAvailable(id, true, t0).ok());
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 1);
  ASSERT_TRUE(balancer->add({"c", "10.0.0.3:80", 1, true}, t0).ok());
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 1);

  balancer->release(lease, {.now = t0 + 5ms, .latency = 5ms});
  for (const EndpointStatus& status : balancer->endpoints()) {
    EXPECT_EQ(status.inFlight, 0) << status.id;
  }
}

// Removing an endpoint with a lease open leaves the lease usable; releasing it later is safe and
// touches no one else, not even a newcomer under the same id.
TEST_P(EveryAlgorithmTest, ReleaseAfterRemoveIsSafe) {
  auto balancer = build(endpointsNamed({"a", "b"}));
  const Pick lease = hold(*balancer, context());
  const std::string id = lease.endpoint->id();
  const std::string other = id == "a" ? "b" : "a";

  ASSERT_TRUE(balancer->remove(id).ok());
  EXPECT_EQ(balancer->size(), 1u);
  EXPECT_EQ(statusOf(*balancer, id).id, "");  // gone from the set
  EXPECT_EQ(lease.endpoint->id(), id);        // but alive while leased
  EXPECT_EQ(lease.endpoint->inFlight(), 1);
  EXPECT_EQ(pickId(*balancer, context()), other);

  ASSERT_TRUE(balancer->add({id, "10.0.0.9:80", 1, true}, t0).ok());
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 0);

  balancer->release(lease, {.now = t0 + 5ms, .latency = 5ms});
  EXPECT_EQ(statusOf(*balancer, id).inFlight, 0);
  EXPECT_EQ(statusOf(*balancer, other).inFlight, 0);

  // The next publication lets go of the drained endpoint; the set keeps working.
  balancer->refresh(t0 + 1s);
  EXPECT_EQ(countPicks(*balancer, 100, context()).size(), 2u);
  for (const EndpointStatus& status : balancer->endpoints()) {
    EXPECT_EQ(status.inFlight, 0) << status.id;
  }
}

// Panic (threshold 0.5, balance all): with 1 of 4 available, all four are picked.
TEST_P(EveryAlgorithmTest, PanicBalancesAcrossAll) {
  auto endpoints = endpointsNamed({"a", "b", "c", "d"});
  endpoints[1].available = endpoints[2].available = endpoints[3].available = false;
  Config config = configWith(endpoints, GetParam());
  config.panic = {.threshold = 0.5, .mode = PanicConfig::Mode::kBalanceAll};
  auto balancer = makeOrDie(config);

  EXPECT_TRUE(balancer->panicking());
  const std::map<std::string, int> counts = countPicks(*balancer, 1000, context());
  EXPECT_EQ(counts.size(), 4u);
  EXPECT_EQ(counts.count("-"), 0u);
}

// Panic in fail mode: with 1 of 4 available, nothing is picked, not even the available one.
TEST_P(EveryAlgorithmTest, PanicFailPicksNothing) {
  auto endpoints = endpointsNamed({"a", "b", "c", "d"});
  endpoints[1].available = endpoints[2].available = endpoints[3].available = false;
  Config config = configWith(endpoints, GetParam());
  config.panic = {.threshold = 0.5, .mode = PanicConfig::Mode::kFail};
  auto balancer = makeOrDie(config);

  EXPECT_TRUE(balancer->panicking());
  EXPECT_FALSE(balancer->pick(context()).has_value());

  // Back above the threshold (2 of 4 is not below half): normal picking among the available.
  ASSERT_TRUE(balancer->setAvailable("b", true, t0).ok());
  EXPECT_FALSE(balancer->panicking());
  const std::map<std::string, int> counts = countPicks(*balancer, 1000, context());
  EXPECT_EQ(counts.count("-"), 0u);
  EXPECT_EQ(counts.count("c"), 0u);
  EXPECT_EQ(counts.count("d"), 0u);
}

// Above the threshold (3 of 4 available) there is no panic and the unavailable one stays unpicked.
TEST_P(EveryAlgorithmTest, NoPanicAboveThreshold) {
  auto endpoints = endpointsNamed({"a", "b", "c", "d"});
  endpoints[2].available = false;
  Config config = configWith(endpoints, GetParam());
  config.panic = {.threshold = 0.5, .mode = PanicConfig::Mode::kBalanceAll};
  auto balancer = makeOrDie(config);

  EXPECT_FALSE(balancer->panicking());
  const std::map<std::string, int> counts = countPicks(*balancer, 1000, context());
  EXPECT_EQ(counts.count("c"), 0u);
  EXPECT_EQ(counts.size(), 3u);

  // Two more go down: 1 of 4 is below half, and panic sets in.
  ASSERT_TRUE(balancer->setAvailable("a", false, t0).ok());
  ASSERT_TRUE(balancer->setAvailable("b", false, t0).ok());
  EXPECT_TRUE(balancer->panicking());
  EXPECT_EQ(countPicks(*balancer, 1000, context()).size(), 4u);
}

// Two threads pick and release while a third changes availability and weights and adds and removes
// an endpoint (slow start on, so picks also publish): every pick is an endpoint that is or was a
// member, and every count is back to 0 at the end.
TEST_P(EveryAlgorithmTest, ConcurrentPicksAndChanges) {
  const std::vector<std::string> stable = {"a", "b", "c", "d", "e", "f"};
  Config config = configWith(endpointsNamed(stable, {1, 2, 3, 1, 2, 3}), GetParam());
  config.slowStart.window = 1s;
  config.hash.balanceFactor = 1.5;
  auto balancer = makeOrDie(config);
  std::set<std::string> known(stable.begin(), stable.end());
  known.insert("extra");

  constexpr int kPicksPerThread = 200'000;
  constexpr int kMinChanges = 2'000;
  std::latch start(3);
  std::atomic<int> pickersDone{0};
  std::vector<int> strayPicks(2, 0);
  std::vector<int> emptyPicks(2, 0);
  const auto picker = [&](std::size_t self) {
    Random random(100 + self);
    start.arrive_and_wait();
    for (int i = 0; i < kPicksPerThread; ++i) {
      const TimePoint now = t0 + i * 10us;  // crosses slow-start steps, so picks publish too
      PickContext request = contextAt(now, &random);
      if (i % 2 == 0) {
        request.hash = random.next();  // consistent_hash: a fresh key; the others ignore it
      }
      const std::optional<Pick> pick = balancer->pick(request);
      if (!pick) {
        ++emptyPicks[self];
        continue;
      }
      if (!known.contains(pick->endpoint->id())) {
        ++strayPicks[self];
      }
      balancer->release(*pick, {.now = now, .latency = 1ms + (i % 7) * 1ms});
    }
    pickersDone.fetch_add(1);
  };

  int failedChanges = 0;
  int changes = 0;
  const auto mutator = [&] {
    start.arrive_and_wait();
    bool extraPresent = false;
    for (int round = 0; pickersDone.load() < 2 || round < kMinChanges; ++round) {
      const TimePoint now = t0 + round * 100us;
      Status status;
      switch (round % 4) {
        case 0:
          status = balancer->setAvailable("b", round % 8 != 0, now);
          break;
        case 1:
          status = balancer->setWeight("c", 1 + round % 5);
          break;
        case 2:
          status = extraPresent ? balancer->remove("extra")
                                : balancer->add({"extra", "10.0.0.99:80", 2, true}, now);
          extraPresent = !extraPresent;
          break;
        default:
          status = balancer->setAvailable("e", round % 3 != 0, now);
          break;
      }
      failedChanges += status.ok() ? 0 : 1;
      ++changes;
    }
  };

  std::thread first(picker, 0);
  std::thread second(picker, 1);
  std::thread third(mutator);
  first.join();
  second.join();
  third.join();

  EXPECT_EQ(strayPicks, (std::vector<int>{0, 0}));
  EXPECT_EQ(emptyPicks, (std::vector<int>{0, 0}));
  EXPECT_EQ(failedChanges, 0);
  EXPECT_GE(changes, kMinChanges);
  for (const EndpointStatus& status : balancer->endpoints()) {
    EXPECT_EQ(status.inFlight, 0) << status.id;
  }
}

}  // namespace
}  // namespace fairway::balancer
