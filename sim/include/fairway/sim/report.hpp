#pragma once

#include <string>
#include <vector>

#include <fairway/sim/results.hpp>
#include <fairway/sim/scenario.hpp>

namespace fairway::sim {

// Side-by-side plain-text tables of several runs of one scenario (one column per algorithm):
// the summary, each backend's load share, breaker backoff sequences and fault handling.
std::string formatTable(const Scenario& scenario, const std::vector<Results>& runs);

// Every measured figure of every run as one JSON document (deterministic: same runs, same bytes).
std::string toJson(const Scenario& scenario, const std::vector<Results>& runs);

// A self-contained HTML page (inline SVG and CSS, no script, no network): the summary table,
// latency CDFs, load share over time, and per-backend health and breaker timelines.
std::string toHtml(const Scenario& scenario, const std::vector<Results>& runs);

}  // namespace fairway::sim
