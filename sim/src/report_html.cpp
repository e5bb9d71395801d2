#include <string>

#include <fairway/sim/report.hpp>

namespace fairway::sim {

std::string toHtml(const Scenario& scenario, const std::vector<Results>& runs) {
  return "<!doctype html><title>" + scenario.name + "</title><pre>" + formatTable(scenario, runs) +
         "</pre>\n";
}

}  // namespace fairway::sim
