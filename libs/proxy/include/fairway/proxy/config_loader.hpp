#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fairway/proxy/config.hpp>

namespace Poco::Util {
class AbstractConfiguration;
}

namespace fairway::proxy {

// Loading and validating the proxy's configuration (`fairway --config`, `--check-config`, SIGHUP).
//
// Every format ends up in one Poco::Util::AbstractConfiguration with POCO's key syntax
// (`server.port`, `backends[0].url`, `upstreams.api.load_balancer.algorithm`), and one reader,
// readConfig(), turns that into a Config. YAML is flattened into a MapConfiguration; JSON, XML,
// .properties and .ini files are read by POCO Util's own classes. docs/configuration.md lists
// every key.
//
// Nothing here throws: POCO and yaml-cpp exceptions become problems. All functions are
// thread-safe (they share no state) and read no clock.

// What loading produced: `config` only when `problems` is empty. Problems come in file order
// where the format keeps one (YAML), else in key order; every problem is reported, not just the
// first.
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigProblem> problems;
};

// Reads `path`, choosing the format by its extension: .yaml/.yml, .json, .properties, .ini,
// .xml. Sets Config::sourceFile to `path`. A missing or unreadable file is a problem.
LoadResult loadConfigFile(const std::string& path);

// Parses `text` in `format` ("yaml", "yml", "json", "properties", "ini" or "xml"). A syntax
// error is one problem naming the line (and column where the parser says).
LoadResult loadConfigString(std::string_view text, std::string_view format);

// The single reader: checks every key of `conf` and builds the Config. Unknown keys are problems.
LoadResult readConfig(const Poco::Util::AbstractConfiguration& conf);

// One line per problem, each ending in '\n': "backends[1].weight: must be >= 1 (got 0)", with
// " [line 7]" appended where the line is known.
std::string describeProblems(const std::vector<ConfigProblem>& problems);

// A duration as configuration files write it: a number and a unit — ns, us, ms, s, m, h — or
// several in a row ("1m30s"); a plain number is seconds ("30", "0.5"). Decimals are allowed
// ("1.5s"); the result must be a whole number of nanoseconds, not negative, and fit in 64 bits.
// On failure returns nullopt and, when `why` is given, sets it to the reason.
std::optional<Duration> parseDuration(std::string_view text, std::string* why = nullptr);

// A size in bytes: a plain number, or a number and a binary unit — k/kb/kib (1024), m/mb/mib,
// g/gb/gib, t/tb/tib, any case ("64k", "64KiB", "1.5m"). The result must be a whole number of
// bytes, not negative, and fit in 64 bits.
std::optional<std::uint64_t> parseSize(std::string_view text, std::string* why = nullptr);

// "30s", "1500ms", "2m", "0s": the largest unit that shows `d` exactly, as problems print it.
std::string formatDuration(Duration d);

}  // namespace fairway::proxy
