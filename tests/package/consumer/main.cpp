// Uses fairway::balancer as an installed package: picks across three weighted endpoints and checks
// the smooth weighted round-robin order, so a broken install fails here.

#include <cstdio>
#include <string>

#include <fairway/balancer/balancer.hpp>
#include <fairway/balancer/version.hpp>

int main() {
  namespace lb = fairway::balancer;
  lb::Config config;
  config.algorithm = "weighted_round_robin";
  config.endpoints = {
      {"a", "127.0.0.1:3001", 5}, {"b", "127.0.0.1:3002", 1}, {"c", "127.0.0.1:3003", 1}};
  auto balancer = lb::make(config);
  if (!balancer) {
    std::fprintf(stderr, "make: %s\n", balancer.error().message.c_str());
    return 1;
  }
  std::string order;
  for (int i = 0; i < 7; ++i) {
    auto pick = balancer.value()->pick({});
    if (!pick) {
      return 1;
    }
    order += pick->endpoint->id();
    balancer.value()->release(*pick);
  }
  std::printf("fairway::balancer %s: %s\n", std::string(lb::kVersion).c_str(), order.c_str());
  return order == "aabacaa" ? 0 : 1;
}
