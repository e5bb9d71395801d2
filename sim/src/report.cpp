#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fairway/sim/report.hpp>

namespace fairway::sim {
namespace {

// `v` with `decimals` digits after the point.
std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

// `v` in %g form: 2000, 0.5, 1e+06.
std::string general(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::string count(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  const int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) {
      out += ',';
    }
    out += digits[static_cast<std::size_t>(i)];
  }
  return out;
}

std::string percent(double share) {
  return (fixed(100.0 * share, 2) + "%");
}

std::string ms(double v) {
  if (v >= 100) {
    return (fixed(v, 0));
  }
  if (v >= 10) {
    return (fixed(v, 1));
  }
  return (fixed(v, 2));
}

std::string secondsText(std::optional<double> v) {
  if (!v) {
    return "never";
  }
  if (*v < 1) {
    return (fixed(*v * 1000, 0) + "ms");
  }
  return (fixed(*v, 2) + "s");
}

std::string intervalText(double s) {
  if (s < 1) {
    return (fixed(s * 1000, 0) + "ms");
  }
  if (s < 10) {
    return (fixed(s, 2) + "s");
  }
  return (fixed(s, 1) + "s");
}

// Rows of cells, the first column left-aligned, the others right-aligned.
class Table {
 public:
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void rule() { rows_.push_back({}); }
  std::string str() const {
    std::vector<std::size_t> width;
    for (const auto& r : rows_) {
      width.resize(std::max(width.size(), r.size()), 0);
      for (std::size_t i = 0; i < r.size(); ++i) {
        width[i] = std::max(width[i], length(r[i]));
      }
    }
    std::size_t total = 0;
    for (std::size_t w : width) {
      total += w + 2;
    }
    std::string out;
    for (const auto& r : rows_) {
      if (r.empty()) {
        out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
        continue;
      }
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::size_t pad = width[i] - length(r[i]);
        if (i == 0) {
          line += r[i] + std::string(pad, ' ');
        } else {
          line += "  " + std::string(pad, ' ') + r[i];
        }
      }
      while (!line.empty() && line.back() == ' ') {
        line.pop_back();
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  // Display width: UTF-8 continuation bytes take no column.
  static std::size_t length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
      n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
  }
  std::vector<std::vector<std::string>> rows_;
};

std::string describeTraffic(const Scenario& s) {
  std::string out;
  for (const SourceSpec& t : s.traffic) {
    if (!out.empty()) {
      out += " + ";
    }
    out += std::string(toString(t.kind));
    switch (t.kind) {
      case SourceSpec::Kind::kPoisson:
        out += (std::string(" ") + general(t.rate) + "/s");
        break;
      case SourceSpec::Kind::kOnOff:
        out += (std::string(" ") + general(t.rate) + "/s") +
               (std::string(" / ") + general(t.rateOff) + "/s") + " (" + formatDuration(t.on) +
               " on, " + formatDuration(t.off) + " off)";
        break;
      case SourceSpec::Kind::kRamp:
        out +=
            (std::string(" ") + general(t.rate)) + (std::string(" -> ") + general(t.rateTo) + "/s");
        break;
      case SourceSpec::Kind::kDiurnal:
        out += (std::string(" ") + general(t.rate) + "/s") +
               (std::string(" ±") + general(t.amplitude * 100) + "%") + " every " +
               formatDuration(t.period);
        break;
      case SourceSpec::Kind::kReplay:
        out += " " + t.file;
        break;
      case SourceSpec::Kind::kClosed:
        out += " " + std::to_string(t.population) + " clients, think " + t.think.describe();
        break;
    }
    if (t.start.count() > 0 || t.end) {
      out += " [" + formatDuration(t.start) + ", " +
             (t.end ? formatDuration(*t.end) : formatDuration(s.duration)) + ")";
    }
  }
  return out;
}

}  // namespace

std::string formatTable(const Scenario& s, const std::vector<Results>& runs) {
  std::string out;
  out += "scenario: " + s.name + "\n";
  if (!s.description.empty()) {
    out += "  " + s.description + "\n";
  }
  auto secondsOf = [](Duration d) {
    return d >= std::chrono::seconds(1) ? general(static_cast<double>(d.count()) * 1e-9) + "s"
                                        : formatDuration(d);
  };
  out += "  " + secondsOf(s.duration) + " of arrivals" +
         (s.warmup.count() > 0 ? " (the first " + secondsOf(s.warmup) + " not measured)"
                               : std::string()) +
         ", seed " + std::to_string(runs.empty() ? s.seed : runs[0].seed) + ", " +
         std::to_string(s.backends.size()) + " backends; traffic: " + describeTraffic(s) + "\n";
  std::string policies;
  if (s.healthCheck) {
    policies += " health checks every " + formatDuration(s.healthCheck->interval) + ";";
  }
  if (s.outlier) {
    policies += " outlier detection;";
  }
  if (s.breaker) {
    policies += " breakers;";
  }
  if (s.rateLimit) {
    policies +=
        (std::string(" rate limit ") + general(s.rateLimit->config.rate.requestsPerSecond) + "/s") +
        " burst " + std::to_string(s.rateLimit->config.rate.burst) + ";";
  }
  if (s.cache) {
    policies += " cache of " + std::to_string(s.cache->maxSize) + ";";
  }
  if (s.client.timeout.count() > 0) {
    policies += " timeout " + formatDuration(s.client.timeout) + ";";
  }
  if (s.client.retries.max > 0) {
    policies += " " + std::to_string(s.client.retries.max) + " retries" +
                (s.client.retries.budgetPercent
                     ? (std::string(" (budget ") + general(*s.client.retries.budgetPercent) + "%)")
                     : std::string(" (no budget)")) +
                ";";
  }
  if (!policies.empty()) {
    policies.pop_back();
    out += " " + policies + "\n";
  }
  out += "\n";

  Table t;
  std::vector<std::string> header{""};
  for (const Results& r : runs) {
    header.push_back(r.algorithm);
  }
  t.row(header);
  t.rule();
  auto add = [&](const std::string& name, auto cell) {
    std::vector<std::string> row{name};
    for (const Results& r : runs) {
      row.push_back(cell(r));
    }
    t.row(std::move(row));
  };
  add("requests", [](const Results& r) { return count(r.requests); });
  add("throughput (req/s)", [](const Results& r) { return (fixed(r.throughput, 1)); });
  add("goodput (req/s)", [](const Results& r) { return (fixed(r.goodput, 1)); });
  add("error rate", [](const Results& r) { return percent(r.errorRate); });
  if (s.rateLimit) {
    add("rate limited", [](const Results& r) { return count(r.rateLimited); });
  }
  if (s.cache) {
    add("cache hits", [](const Results& r) { return count(r.cacheHits); });
  }
  add("latency p50 (ms)", [](const Results& r) { return ms(r.success.p50); });
  add("latency p90 (ms)", [](const Results& r) { return ms(r.success.p90); });
  add("latency p99 (ms)", [](const Results& r) { return ms(r.success.p99); });
  add("latency p99.9 (ms)", [](const Results& r) { return ms(r.success.p999); });
  add("latency mean (ms)", [](const Results& r) { return ms(r.success.mean); });
  add("attempts", [](const Results& r) { return count(r.attempts); });
  add("retries", [](const Results& r) { return count(r.retries); });
  if (s.client.retries.budgetPercent) {
    add("retries denied (budget)", [](const Results& r) { return count(r.retriesDenied); });
  }
  add("no backend (503)", [](const Results& r) { return count(r.noBackend); });
  add("Jain fairness vs weights", [](const Results& r) { return (fixed(r.jain, 4)); });
  if (s.breaker) {
    add("breaker trips", [](const Results& r) {
      std::uint64_t n = 0;
      for (const BackendResult& b : r.backends) {
        n += b.breakerTrips;
      }
      return count(n);
    });
  }
  if (s.outlier) {
    add("outlier ejections", [](const Results& r) {
      std::uint64_t n = 0;
      for (const BackendResult& b : r.backends) {
        n += b.ejections;
      }
      return count(n);
    });
  }
  bool anyUnfinished = false;
  for (const Results& r : runs) {
    anyUnfinished = anyUnfinished || r.unfinished > 0;
  }
  if (anyUnfinished) {
    add("unfinished at stop", [](const Results& r) { return count(r.unfinished); });
  }
  add("wall time (s)", [](const Results& r) { return (fixed(r.wallSeconds, 2)); });
  add("simulated req/s of wall time", [](const Results& r) {
    return r.wallSeconds > 0
               ? count(static_cast<std::uint64_t>(static_cast<double>(r.requests) / r.wallSeconds))
               : std::string("-");
  });
  out += t.str();

  if (runs.empty()) {
    return out;
  }
  // Load share per backend.
  Table share;
  std::vector<std::string> shareHeader{"load share", "weight"};
  for (const Results& r : runs) {
    shareHeader.push_back(r.algorithm);
  }
  share.row(shareHeader);
  share.rule();
  for (std::size_t b = 0; b < runs[0].backends.size(); ++b) {
    std::vector<std::string> row{runs[0].backends[b].id, percent(runs[0].backends[b].weightShare)};
    for (const Results& r : runs) {
      row.push_back(percent(r.backends[b].loadShare));
    }
    share.row(std::move(row));
  }
  out += "\n" + share.str();

  // Per-backend detail worth a glance: errors and time out of rotation, when any.
  Table detail;
  bool anyDetail = false;
  std::vector<std::string> detailHeader{"out of rotation (s)"};
  for (const Results& r : runs) {
    detailHeader.push_back(r.algorithm);
  }
  detail.row(detailHeader);
  detail.rule();
  for (std::size_t b = 0; b < runs[0].backends.size(); ++b) {
    bool any = false;
    std::vector<std::string> row{runs[0].backends[b].id};
    for (const Results& r : runs) {
      const BackendResult& br = r.backends[b];
      any = any || br.unavailableSeconds > 0;
      row.push_back((fixed(br.unavailableSeconds, 1)));
    }
    if (any) {
      detail.row(std::move(row));
      anyDetail = true;
    }
  }
  if (anyDetail) {
    out += "\n" + detail.str();
  }

  // Breaker open intervals: the backoff sequence.
  std::string breakers;
  for (const Results& r : runs) {
    for (const BackendResult& b : r.backends) {
      if (b.breakerOpen.empty()) {
        continue;
      }
      std::string line = "  " + r.algorithm + " " + b.id + ":";
      std::size_t shown = 0;
      for (const OpenInterval& o : b.breakerOpen) {
        if (shown++ == 12) {
          line += " ... (" + std::to_string(b.breakerOpen.size()) + " in all)";
          break;
        }
        line += " " + intervalText(o.openFor) + (std::string("@") + fixed(o.at, 1) + "s");
      }
      breakers += line + "\n";
    }
  }
  if (!breakers.empty()) {
    out += "\nbreaker open intervals (open for @ opened at):\n" + breakers;
  }

  // Faults: detection and recovery.
  if (!runs[0].faults.empty()) {
    Table faults;
    std::vector<std::string> fh{"fault", "detected after / back after"};
    fh.resize(1);
    for (const Results& r : runs) {
      fh.push_back(r.algorithm);
    }
    faults.row(fh);
    faults.rule();
    for (std::size_t f = 0; f < runs[0].faults.size(); ++f) {
      const FaultResult& fr = runs[0].faults[f];
      std::string name = fr.backend + " " + fr.kind + " " + intervalText(fr.start) + "-" +
                         (fr.end ? intervalText(*fr.end) : std::string("end"));
      std::vector<std::string> row{name};
      for (const Results& r : runs) {
        const FaultResult& x = r.faults[f];
        row.push_back(secondsText(x.detectedAfter) + " / " +
                      (x.end ? secondsText(x.recoveredAfter) : std::string("-")));
      }
      faults.row(std::move(row));
    }
    out +=
        "\nfault detection (detected after start / back in rotation after end):\n" + faults.str();
  }
  return out;
}

namespace {

// A minimal JSON writer: objects and arrays with commas handled, strings escaped, doubles in
// their shortest round-trip form (so the output is deterministic and exact).
class Json {
 public:
  void open(char c) {
    comma();
    out_ += c;
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }
  void key(std::string_view k) {
    comma();
    string(k);
    out_ += ':';
    first_ = true;
  }
  void value(double v) {
    comma();
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    char text[32];
    const auto [p, ec] = std::to_chars(text, text + sizeof text, v);
    (void)ec;
    out_.append(text, p);
  }
  void value(std::uint64_t v) {
    comma();
    out_ += std::to_string(v);
  }
  void value(std::int64_t v) {
    comma();
    out_ += std::to_string(v);
  }
  void value(bool v) {
    comma();
    out_ += v ? "true" : "false";
  }
  void value(std::string_view v) {
    comma();
    string(v);
  }
  void value(const char* v) { value(std::string_view(v)); }
  void value(const std::string& v) { value(std::string_view(v)); }
  void null() {
    comma();
    out_ += "null";
  }
  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  void field(std::string_view k, const std::optional<double>& v) {
    key(k);
    if (v) {
      value(*v);
    } else {
      null();
    }
  }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  void string(std::string_view s) {
    out_ += '"';
    for (const char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char text[8];
            std::snprintf(text, sizeof text, "\\u%04x", c);
            out_ += text;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

void latencyJson(Json& j, const LatencySummary& l) {
  j.open('{');
  j.field("count", l.count);
  j.field("mean_ms", l.mean);
  j.field("p50_ms", l.p50);
  j.field("p90_ms", l.p90);
  j.field("p99_ms", l.p99);
  j.field("p999_ms", l.p999);
  j.field("max_ms", l.max);
  j.close('}');
}

}  // namespace

std::string toJson(const Scenario& s, const std::vector<Results>& runs) {
  Json j;
  j.open('{');
  j.key("scenario");
  j.open('{');
  j.field("name", s.name);
  j.field("description", s.description);
  j.field("duration_s", static_cast<double>(s.duration.count()) * 1e-9);
  j.field("warmup_s", static_cast<double>(s.warmup.count()) * 1e-9);
  j.field("backends", static_cast<std::uint64_t>(s.backends.size()));
  j.close('}');
  j.key("runs");
  j.open('[');
  for (const Results& r : runs) {
    j.open('{');
    j.field("algorithm", r.algorithm);
    j.field("seed", r.seed);
    j.field("measured_s", r.measuredSeconds);
    j.field("simulated_s", r.simulatedSeconds);
    j.field("requests", r.requests);
    j.field("successes", r.successes);
    j.field("failures", r.failures);
    j.field("rate_limited", r.rateLimited);
    j.field("cache_hits", r.cacheHits);
    j.field("unfinished", r.unfinished);
    j.field("attempts", r.attempts);
    j.field("retries", r.retries);
    j.field("retries_denied", r.retriesDenied);
    j.field("no_backend", r.noBackend);
    j.field("throughput_rps", r.throughput);
    j.field("goodput_rps", r.goodput);
    j.field("error_rate", r.errorRate);
    j.field("jain_fairness", r.jain);
    j.key("latency");
    latencyJson(j, r.success);
    j.key("latency_cdf");
    j.open('[');
    for (const auto& point : r.latency.cdf(200)) {
      j.open('[');
      j.value(point[0] / 1e6);
      j.value(point[1]);
      j.close(']');
    }
    j.close(']');
    j.key("backends");
    j.open('[');
    for (const BackendResult& b : r.backends) {
      j.open('{');
      j.field("id", b.id);
      j.field("weight", b.weight);
      j.field("weight_share", b.weightShare);
      j.field("attempts", b.attempts);
      j.field("load_share", b.loadShare);
      j.field("successes", b.successes);
      j.field("errors", b.errors);
      j.field("overloaded", b.overloaded);
      j.field("refused", b.refused);
      j.field("resets", b.resets);
      j.field("timeouts", b.timeouts);
      j.field("wait_probability", b.waitProbability);
      j.field("mean_wait_ms", b.meanWaitMs);
      j.field("mean_service_ms", b.meanServiceMs);
      j.field("utilization", b.utilization);
      j.field("probes", b.probes);
      j.field("ejections", b.ejections);
      j.field("unavailable_s", b.unavailableSeconds);
      j.field("breaker_trips", b.breakerTrips);
      j.key("breaker_open");
      j.open('[');
      for (const OpenInterval& o : b.breakerOpen) {
        j.open('{');
        j.field("at_s", o.at);
        j.field("open_for_s", o.openFor);
        j.field("trip", o.trip);
        j.close('}');
      }
      j.close(']');
      j.close('}');
    }
    j.close(']');
    j.key("faults");
    j.open('[');
    for (const FaultResult& f : r.faults) {
      j.open('{');
      j.field("backend", f.backend);
      j.field("kind", f.kind);
      j.field("start_s", f.start);
      j.field("end_s", f.end);
      j.field("detected_after_s", f.detectedAfter);
      j.field("recovered_after_s", f.recoveredAfter);
      j.close('}');
    }
    j.close(']');
    j.key("events");
    j.open('[');
    for (const BackendEvent& e : r.events) {
      j.open('{');
      j.field("at_s", e.at);
      j.field("backend", r.backends[e.backend].id);
      j.field("event", toString(e.kind));
      j.close('}');
    }
    j.close(']');
    j.field("events_truncated", r.eventsTruncated);
    j.key("timeline");
    j.open('{');
    j.field("bucket_s", r.timeline.bucketSeconds);
    j.key("attempts");
    j.open('[');
    for (const auto& bucket : r.timeline.attempts) {
      j.open('[');
      for (std::uint32_t v : bucket) {
        j.value(static_cast<std::uint64_t>(v));
      }
      j.close(']');
    }
    j.close(']');
    j.key("successes");
    j.open('[');
    for (std::uint32_t v : r.timeline.successes) {
      j.value(static_cast<std::uint64_t>(v));
    }
    j.close(']');
    j.key("failures");
    j.open('[');
    for (std::uint32_t v : r.timeline.failures) {
      j.value(static_cast<std::uint64_t>(v));
    }
    j.close(']');
    j.close('}');
    j.field("events_processed", r.eventsProcessed);
    j.field("request_slots", r.requestSlots);
    j.field("attempt_slots", r.attemptSlots);
    j.field("peak_queued_events", r.peakQueuedEvents);
    j.field("wall_s", r.wallSeconds);
    j.close('}');
  }
  j.close(']');
  j.close('}');
  return j.take() + "\n";
}

}  // namespace fairway::sim
