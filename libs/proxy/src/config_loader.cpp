// Files and formats to one AbstractConfiguration: POCO Util's readers for JSON, XML, .properties
// and .ini, and a YAML flattener into a MapConfiguration with POCO's key syntax.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <Poco/Util/XMLConfiguration.h>
#include <yaml-cpp/yaml.h>

#include <fairway/proxy/config_loader.hpp>

#include "config_tree.hpp"
#include "config_values.hpp"

namespace fairway::proxy {
namespace {

constexpr std::uintmax_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr int kMaxYamlDepth = 32;
constexpr std::size_t kMaxYamlNodes = 20'000;

// A MapConfiguration whose keys() costs O(children × log n) instead of a scan of every key (POCO's
// MapConfiguration::enumerate), so that reading a large flattened file is not quadratic.
class IndexedMapConfiguration : public Poco::Util::MapConfiguration {
 protected:
  ~IndexedMapConfiguration() override = default;

  void setRaw(const std::string& key, const std::string& value) override {
    MapConfiguration::setRaw(key, value);
    index_.insert(key);
  }

  void removeRaw(const std::string& key) override {
    MapConfiguration::removeRaw(key);
    index_.erase(key);
  }

  void enumerate(const std::string& key, Keys& range) const override {
    const std::string prefix = key.empty() ? "" : key + ".";
    std::set<std::string> seen;
    auto it = index_.lower_bound(prefix);
    while (it != index_.end() && it->compare(0, prefix.size(), prefix) == 0) {
      const std::size_t dot = it->find('.', prefix.size());
      std::string segment = it->substr(prefix.size(), dot - prefix.size());
      if (dot == std::string::npos) {
        ++it;
      } else {
        // Skip the rest of this child's subtree: every key that starts with "prefix.segment.".
        it = index_.lower_bound(prefix + segment + "/");  // '/' follows '.'
      }
      if (seen.insert(segment).second) {
        range.push_back(std::move(segment));
      }
    }
  }

 private:
  std::set<std::string> index_;
};

// YAML to POCO keys: a map's entries become `parent.key`, a sequence's items `parent[i]`, and an
// empty map, sequence or null an empty value at its key, so that `breaker: {}` is still present.
class YamlFlattener {
 public:
  YamlFlattener(Poco::Util::MapConfiguration& out, std::map<std::string, int>& lines,
                std::vector<ConfigProblem>& problems)
      : out_(out), lines_(lines), problems_(problems) {}

  void flatten(const YAML::Node& node, const std::string& key, int depth) {
    // Aliases share nodes, so a small file can expand to billions of keys ("billion laughs").
    if (++nodes_ > kMaxYamlNodes) {
      if (nodes_ == kMaxYamlNodes + 1) {
        problem(key, node,
                "more than " + std::to_string(kMaxYamlNodes) + " values once aliases are expanded");
      }
      return;
    }
    if (depth > kMaxYamlDepth) {
      problem(key, node, "nested more than " + std::to_string(kMaxYamlDepth) + " levels deep");
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
        return;
      case YAML::NodeType::Null:
        set(key, "");
        return;
      case YAML::NodeType::Scalar:
        set(key, node.Scalar());
        return;
      case YAML::NodeType::Sequence: {
        if (node.size() == 0) {
          set(key, "");
        }
        std::size_t index = 0;
        for (const YAML::Node& item : node) {
          const std::string itemKey = key + "[" + std::to_string(index++) + "]";
          lines_.emplace(itemKey, item.Mark().line + 1);
          flatten(item, itemKey, depth + 1);
        }
        return;
      }
      case YAML::NodeType::Map: {
        if (node.size() == 0) {
          set(key, "");
        }
        std::set<std::string> seen;
        flattenEntries(node, key, seen, /*merged=*/false, depth);
        return;
      }
    }
  }

 private:
  // A map's entries under `key`. Keys written in the map win over keys it merges in
  // (`<<: *defaults`, YAML 1.1 merge keys, which yaml-cpp leaves to its users); a key written
  // twice is a problem, a merged key already present is not.
  void flattenEntries(const YAML::Node& map, const std::string& key, std::set<std::string>& seen,
                      bool merged, int depth) {
    std::vector<YAML::Node> merges;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        problem(key, entry.first, "keys must be plain names");
        continue;
      }
      const std::string& name = entry.first.Scalar();
      if (name == "<<") {
        merges.push_back(entry.second);
        continue;
      }
      const std::string childKey = key.empty() ? name : key + "." + name;
      if (name.empty() || name.find_first_of(".[]") != std::string::npos) {
        problem(childKey, entry.first, "key names cannot be empty or contain '.', '[' or ']'");
        continue;
      }
      if (!seen.insert(name).second) {
        if (!merged) {
          problem(childKey, entry.first, "duplicate key");
        }
        continue;
      }
      lines_.emplace(childKey, entry.first.Mark().line + 1);
      flatten(entry.second, childKey, depth + 1);
    }
    for (const YAML::Node& source : merges) {
      if (depth > kMaxYamlDepth) {
        problem(key, source, "merges nested too deeply");
        return;
      }
      std::vector<YAML::Node> maps;
      if (source.IsSequence()) {
        for (const YAML::Node& item : source) {
          maps.push_back(item);
        }
      } else {
        maps.push_back(source);
      }
      for (const YAML::Node& m : maps) {
        if (!m.IsMap()) {
          problem(key.empty() ? "<<" : key + ".<<", m, "must merge a mapping (<<: *anchor)");
          continue;
        }
        flattenEntries(m, key, seen, /*merged=*/true, depth + 1);
      }
    }
  }

  void set(const std::string& key, const std::string& value) {
    if (!key.empty()) {
      out_.setString(key, value);
    }
  }

  void problem(const std::string& key, const YAML::Node& node, std::string message) {
    problems_.push_back({key, std::move(message), node.Mark().line + 1});
  }

  Poco::Util::MapConfiguration& out_;
  std::map<std::string, int>& lines_;
  std::vector<ConfigProblem>& problems_;
  std::size_t nodes_ = 0;
};

// The line of `key`, or of the nearest enclosing key that has one ("backends[0].url" is
// missing: the line of "backends[0]").
int lineOf(std::string key, const std::map<std::string, int>& lines) {
  while (!key.empty()) {
    if (const auto it = lines.find(key); it != lines.end()) {
      return it->second;
    }
    const std::size_t cut = key.find_last_of(".[");
    if (cut == std::string::npos) {
      break;
    }
    key.resize(cut);
  }
  return 0;
}

LoadResult loadYaml(std::string_view text) {
  YAML::Node document;
  try {
    document = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    LoadResult result;
    result.problems.push_back({"", "YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                       ", column " + std::to_string(e.mark.column + 1) + ": " +
                                       e.msg});
    return result;
  }
  if (!document.IsMap() && !document.IsNull()) {
    LoadResult result;
    result.problems.push_back({"",
                               "the top level must hold sections (server, backends, ...), not a "
                               "single value or a list",
                               document.Mark().line + 1});
    return result;
  }
  Poco::AutoPtr<Poco::Util::MapConfiguration> conf(new IndexedMapConfiguration);
  std::map<std::string, int> lines;
  std::vector<ConfigProblem> problems;
  YamlFlattener(*conf, lines, problems).flatten(document, "", 0);
  LoadResult result = readConfig(*conf);
  if (!problems.empty()) {
    // What could not be flattened is missing, not empty.
    std::erase_if(result.problems, [](const ConfigProblem& p) {
      return p.key.empty() && p.message == config::kEmptyMessage;
    });
    problems.insert(problems.end(), result.problems.begin(), result.problems.end());
    result.problems = std::move(problems);
    result.config.reset();
  }
  for (ConfigProblem& p : result.problems) {
    if (p.line == 0) {
      p.line = lineOf(p.key, lines);
    }
  }
  // File order reads best: a stable sort keeps problems of one line in reading order.
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  return result;
}

template <typename Configuration>
LoadResult loadWithPoco(std::string_view text) {
  std::istringstream stream{std::string(text)};
  Poco::AutoPtr<Configuration> conf(new Configuration(stream));
  return readConfig(*conf);
}

std::string normalizeFormat(std::string_view format) {
  std::string f = config::lower(config::trim(format));
  if (!f.empty() && f.front() == '.') {
    f.erase(0, 1);
  }
  return f == "yml" ? "yaml" : f;
}

LoadResult oneProblem(std::string message) {
  LoadResult result;
  result.problems.push_back({"", std::move(message)});
  return result;
}

}  // namespace

LoadResult loadConfigString(std::string_view text, std::string_view format) {
  const std::string f = normalizeFormat(format);
  if (f != "yaml" && f != "json" && f != "properties" && f != "ini" && f != "xml") {
    return oneProblem("unknown configuration format '" + std::string(format) +
                      "' (use yaml, json, properties, ini or xml)");
  }
  if (config::trim(text).empty()) {
    return oneProblem(std::string(config::kEmptyMessage));
  }
  try {
    if (f == "yaml") {
      return loadYaml(text);
    }
    if (f == "json") {
      return loadWithPoco<Poco::Util::JSONConfiguration>(text);
    }
    if (f == "properties") {
      return loadWithPoco<Poco::Util::PropertyFileConfiguration>(text);
    }
    if (f == "ini") {
      return loadWithPoco<Poco::Util::IniFileConfiguration>(text);
    }
    return loadWithPoco<Poco::Util::XMLConfiguration>(text);
  } catch (const Poco::Exception& e) {
    return oneProblem(f + " syntax error: " + e.displayText());
  } catch (const YAML::Exception& e) {
    return oneProblem(std::string("YAML error: ") + e.what());
  } catch (const std::exception& e) {
    return oneProblem("cannot read the configuration: " + std::string(e.what()));
  }
}

namespace {

// loadConfigFile() but for the last-resort catch.
LoadResult loadFile(const std::string& path) {
  const std::filesystem::path file(path);
  const std::string extension = config::lower(file.extension().string());
  if (extension != ".yaml" && extension != ".yml" && extension != ".json" &&
      extension != ".properties" && extension != ".ini" && extension != ".xml") {
    return oneProblem(path + ": unknown configuration format '" + extension +
                      "' (name the file .yaml, .yml, .json, .properties, .ini or .xml)");
  }
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(file, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return oneProblem(path + ": cannot open: no such file");
  }
  if (error) {
    return oneProblem(path + ": cannot open: " + error.message());
  }
  if (!std::filesystem::is_regular_file(status)) {
    return oneProblem(path + ": cannot open: not a regular file");
  }
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (!error && size > kMaxFileBytes) {
    return oneProblem(path + ": too large for a configuration file (" + std::to_string(size) +
                      " bytes; at most 16 MiB)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return oneProblem(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return oneProblem(path + ": cannot read: " + std::strerror(errno));
  }
  LoadResult result = loadConfigString(contents.str(), extension);
  if (result.config) {
    result.config->sourceFile = path;
  }
  return result;
}

}  // namespace

LoadResult loadConfigFile(const std::string& path) {
  try {
    return loadFile(path);
  } catch (const std::exception& e) {  // std::bad_alloc, filesystem errors
    return oneProblem(path + ": cannot read: " + e.what());
  }
}

std::string describeProblems(const std::vector<ConfigProblem>& problems) {
  std::string out;
  for (const ConfigProblem& p : problems) {
    out += p.key.empty() ? p.message : p.key + ": " + p.message;
    if (p.line > 0) {
      out += " [line " + std::to_string(p.line) + "]";
    }
    out += '\n';
  }
  return out;
}

}  // namespace fairway::proxy
