// fairway-sim: runs a scenario file once per balancer algorithm and compares them. Option parsing,
// wiring and output files only; everything else lives in fairway::sim.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <fairway/balancer/config.hpp>
#include <fairway/balancer/version.hpp>
#include <fairway/breaker/version.hpp>
#include <fairway/cache/version.hpp>
#include <fairway/health/version.hpp>
#include <fairway/ratelimit/version.hpp>
#include <fairway/sim/report.hpp>
#include <fairway/sim/simulation.hpp>
#include <fairway/sim/version.hpp>

namespace {

namespace sim = fairway::sim;

constexpr std::string_view kUsage =
    "usage: fairway-sim SCENARIO.yaml [--algorithms a,b,...] [--seed N] [--json FILE]\n"
    "                   [--report FILE.html] [--quiet]\n"
    "\n"
    "Runs the scenario once per balancer algorithm under virtual time, with the same policy\n"
    "code the proxy runs (balancer, breaker, health checks, outlier detection, rate limit,\n"
    "cache), and prints a side-by-side comparison.\n"
    "\n"
    "  --algorithms LIST  comma-separated balancer algorithms (default: the scenario's\n"
    "                     `algorithms`, else its balancer.algorithm). Known:\n"
    "                     ";

struct Options {
  std::string scenario;
  std::vector<std::string> algorithms;
  std::optional<std::uint64_t> seed;
  std::string json;
  std::string report;
  bool quiet = false;
};

void printUsage(std::ostream& out) {
  out << kUsage;
  const auto& names = fairway::balancer::algorithmNames();
  for (std::size_t i = 0; i < names.size(); ++i) {
    out << (i ? ", " : "") << names[i];
  }
  out << "\n"
         "  --seed N           override the scenario's seed (same seed, same results, bit for "
         "bit)\n"
         "  --json FILE        write every measured figure of every run as JSON\n"
         "  --report FILE      write a self-contained HTML page with plots (latency CDFs, load\n"
         "                     share over time, health and breaker timelines)\n"
         "  --quiet            no progress bar (it is shown only when stderr is a terminal)\n"
         "  --help, --version\n"
         "\n"
         "Scenario files: sim/scenarios/*.yaml; format: docs/simulation.md.\n";
}

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) {
      out.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return out;
}

// 0: run; 1: stop with success (help, version); 2: usage error (message printed).
int parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "fairway-sim: " << name << " needs a value\n";
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      printUsage(std::cout);
      return 1;
    }
    if (arg == "--version") {
      std::cout << "fairway-sim " << sim::kVersion << " (balancer " << fairway::balancer::kVersion
                << ", breaker " << fairway::breaker::kVersion << ", health "
                << fairway::health::kVersion << ", ratelimit " << fairway::ratelimit::kVersion
                << ", cache " << fairway::cache::kVersion << ")\n";
      return 1;
    }
    if (arg == "--algorithms") {
      const auto v = value(arg);
      if (!v) {
        return 2;
      }
      options.algorithms = split(*v);
    } else if (arg == "--seed") {
      const auto v = value(arg);
      if (!v) {
        return 2;
      }
      char* end = nullptr;
      const unsigned long long seed = std::strtoull(v->c_str(), &end, 0);
      if (v->empty() || *end != '\0' || (*v)[0] == '-') {
        std::cerr << "fairway-sim: --seed: must be an unsigned integer (got '" << *v << "')\n";
        return 2;
      }
      options.seed = seed;
    } else if (arg == "--json") {
      const auto v = value(arg);
      if (!v) {
        return 2;
      }
      options.json = *v;
    } else if (arg == "--report") {
      const auto v = value(arg);
      if (!v) {
        return 2;
      }
      options.report = *v;
    } else if (arg == "--quiet" || arg == "-q") {
      options.quiet = true;
    } else if (arg.starts_with("-")) {
      std::cerr << "fairway-sim: unknown option '" << arg << "' (see --help)\n";
      return 2;
    } else if (options.scenario.empty()) {
      options.scenario = arg;
    } else {
      std::cerr << "fairway-sim: one scenario file at a time (got '" << options.scenario
                << "' and '" << arg << "')\n";
      return 2;
    }
  }
  if (options.scenario.empty()) {
    std::cerr << "fairway-sim: no scenario file given\n\n";
    printUsage(std::cerr);
    return 2;
  }
  return 0;
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "fairway-sim: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int rc = parse(argc, argv, options); rc != 0) {
    return rc == 1 ? 0 : 2;
  }
  auto loaded = sim::loadScenario(options.scenario);
  if (!loaded) {
    std::cerr << "fairway-sim: " << loaded.error().message << "\n";
    return 2;
  }
  const sim::Scenario& scenario = loaded.value();
  std::vector<std::string> algorithms = options.algorithms;
  if (algorithms.empty()) {
    algorithms = scenario.algorithms;
  }
  if (algorithms.empty()) {
    algorithms.push_back(scenario.balancer.algorithm);
  }
  const auto& known = fairway::balancer::algorithmNames();
  for (const std::string& a : algorithms) {
    if (std::find(known.begin(), known.end(), a) == known.end()) {
      std::cerr << "fairway-sim: --algorithms: unknown algorithm '" << a << "' (known: ";
      for (std::size_t k = 0; k < known.size(); ++k) {
        std::cerr << (k ? ", " : "") << known[k];
      }
      std::cerr << ")\n";
      return 2;
    }
  }

  const bool bar = !options.quiet && isatty(STDERR_FILENO) != 0;
  std::vector<sim::Results> runs;
  for (std::size_t i = 0; i < algorithms.size(); ++i) {
    sim::RunOptions run;
    run.algorithm = algorithms[i];
    run.seed = options.seed;
    const std::string label = "[" + std::to_string(i + 1) + "/" +
                              std::to_string(algorithms.size()) + "] " + algorithms[i];
    int shown = -1;  // the percentage on screen: redraw only when it changes
    if (bar) {
      run.progress = [&label, &shown](double done) {
        const int percent = static_cast<int>(done * 100);
        if (percent == shown) {
          return;
        }
        shown = percent;
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(done * kWidth);
        std::string line = "\r" + label + " [";
        line += std::string(static_cast<std::size_t>(filled), '=');
        line += std::string(static_cast<std::size_t>(kWidth - filled), ' ');
        line += "] " + std::to_string(percent) + "%";
        std::cerr << line << std::flush;
      };
    }
    const auto start = std::chrono::steady_clock::now();
    auto result = sim::simulate(scenario, run);
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
    if (bar) {
      std::cerr << "\r\033[K" << std::flush;
    }
    if (!result) {
      std::cerr << "fairway-sim: " << options.scenario << ": " << result.error().message << "\n";
      return 2;
    }
    runs.push_back(std::move(result).value());
    runs.back().wallSeconds = wall.count();
  }

  std::cout << sim::formatTable(scenario, runs);
  bool ok = true;
  if (!options.json.empty()) {
    ok = writeFile(options.json, sim::toJson(scenario, runs)) && ok;
  }
  if (!options.report.empty()) {
    ok = writeFile(options.report, sim::toHtml(scenario, runs)) && ok;
  }
  return ok ? 0 : 1;
}
