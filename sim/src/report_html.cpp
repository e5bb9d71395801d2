// The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched) with
// the comparison table and plots drawn here from the Results.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fairway/sim/report.hpp>

namespace fairway::sim {
namespace {

// Tableau 10, for backends and algorithms alike.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* color(std::size_t i) {
  return kPalette[i % 10];
}

std::string num(double v, int decimals = 1) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// "1", "2.5", "10", "0.5", "20k", "1e-4": an axis label.
std::string label(double v) {
  char text[32];
  if (std::abs(v) >= 1000) {
    std::snprintf(text, sizeof text, "%gk", v / 1000);
  } else if (v != 0 && std::abs(v) < 1e-3) {
    const int exponent = static_cast<int>(std::floor(std::log10(std::abs(v)) + 1e-9));
    std::snprintf(text, sizeof text, "%ge%d", v / std::pow(10, exponent), exponent);
  } else {
    std::snprintf(text, sizeof text, "%g", v);
  }
  return text;
}

// A chart area with axes: maps data to SVG coordinates, draws ticks and grid lines.
class Plot {
 public:
  Plot(double width, double height, std::string title)
      : width_(width), height_(height), title_(std::move(title)) {}

  void x(double low, double high, bool log = false, std::string name = "") {
    x0_ = low;
    x1_ = high > low ? high : low + 1;
    logX_ = log;
    xName_ = std::move(name);
  }
  void y(double low, double high, bool log = false, std::string name = "") {
    y0_ = low;
    y1_ = high > low ? high : low + 1;
    logY_ = log;
    yName_ = std::move(name);
  }

  double px(double v) const {
    const double t = logX_ ? (std::log10(v) - std::log10(x0_)) / (std::log10(x1_) - std::log10(x0_))
                           : (v - x0_) / (x1_ - x0_);
    return kLeft + std::clamp(t, 0.0, 1.0) * (width_ - kLeft - kRight);
  }
  double py(double v) const {
    const double t = logY_ ? (std::log10(v) - std::log10(y0_)) / (std::log10(y1_) - std::log10(y0_))
                           : (v - y0_) / (y1_ - y0_);
    return height_ - kBottom - std::clamp(t, 0.0, 1.0) * (height_ - kTop - kBottom);
  }

  void line(const std::vector<std::array<double, 2>>& points, const char* stroke,
            const char* dash = nullptr, double widthPx = 1.6) {
    if (points.empty()) {
      return;
    }
    std::string d;
    for (const auto& p : points) {
      d += (d.empty() ? "M" : "L") + num(px(p[0])) + "," + num(py(p[1]));
    }
    body_ += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" +
             num(widthPx) + "\"" +
             (dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : std::string()) + "/>";
  }

  // A filled step area from y = 0 up to `heights[i]` over [edges[i], edges[i + 1]).
  void stepArea(const std::vector<double>& edges, const std::vector<double>& heights,
                const char* fill) {
    if (heights.empty()) {
      return;
    }
    std::string d = "M" + num(px(edges[0])) + "," + num(py(0));
    for (std::size_t i = 0; i < heights.size(); ++i) {
      d += "V" + num(py(heights[i])) + "H" + num(px(edges[i + 1]));
    }
    body_ += "<path d=\"" + d + "V" + num(py(0)) + "Z\" fill=\"" + fill + "\"/>";
  }

  void rect(double xa, double xb, double ya, double yb, const char* fill, double opacity = 1) {
    const double left = px(xa);
    const double right = px(xb);
    const double top = py(yb);
    const double bottom = py(ya);
    body_ += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" +
             num(std::max(0.5, right - left)) + "\" height=\"" + num(std::max(0.5, bottom - top)) +
             "\" fill=\"" + fill + "\"" +
             (opacity < 1 ? " fill-opacity=\"" + num(opacity, 2) + "\"" : std::string()) + "/>";
  }

  void raw(const std::string& svg) { body_ += svg; }
  void hideYTicks() { yTicks_ = false; }

  // A vertical marker at x, labelled.
  void marker(double at, const std::string& text) {
    body_ += "<line x1=\"" + num(px(at)) + "\" x2=\"" + num(px(at)) + "\" y1=\"" + num(kTop) +
             "\" y2=\"" + num(height_ - kBottom) +
             "\" stroke=\"#999\" stroke-dasharray=\"3 3\"/><text x=\"" + num(px(at) + 3) +
             "\" y=\"" + num(kTop + 10) + "\" class=\"small\">" + escape(text) + "</text>";
  }

  std::string svg() const {
    std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width_, 0) +
                      "\" height=\"" + num(height_, 0) + "\" viewBox=\"0 0 " + num(width_, 0) +
                      " " + num(height_, 0) + "\">";
    out += "<text x=\"" + num(kLeft) + "\" y=\"14\" class=\"title\">" + escape(title_) + "</text>";
    out += axes();
    out += body_;
    out += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
           num(width_ - kLeft - kRight) + "\" height=\"" + num(height_ - kTop - kBottom) +
           "\" fill=\"none\" stroke=\"#444\"/>";
    return out + "</svg>";
  }

  static constexpr double kLeft = 56;
  static constexpr double kRight = 18;
  static constexpr double kTop = 24;
  static constexpr double kBottom = 34;

 private:
  static std::vector<double> ticks(double low, double high, bool log) {
    std::vector<double> out;
    if (log) {
      for (double decade = std::pow(10, std::floor(std::log10(low))); decade <= high * 1.0001;
           decade *= 10) {
        for (double m : {1.0, 2.0, 5.0}) {
          const double v = decade * m;
          if (v >= low * 0.9999 && v <= high * 1.0001) {
            out.push_back(v);
          }
        }
      }
      return out;
    }
    const double span = high - low;
    const double raw = span / 6;
    const double magnitude = std::pow(10, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (magnitude * m >= raw) {
        step = magnitude * m;
        break;
      }
    }
    for (double v = std::ceil(low / step) * step; v <= high + step * 1e-6; v += step) {
      out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  std::string axes() const {
    std::string out;
    for (double v : ticks(x0_, x1_, logX_)) {
      const double x = px(v);
      out += "<line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
             num(height_ - kBottom) + "\" class=\"grid\"/>";
      out += "<text x=\"" + num(x) + "\" y=\"" + num(height_ - kBottom + 13) +
             "\" text-anchor=\"middle\" class=\"small\">" + label(v) + "</text>";
    }
    for (double v : yTicks_ ? ticks(y0_, y1_, logY_) : std::vector<double>{}) {
      const double y = py(v);
      out += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(width_ - kRight) + "\" y1=\"" + num(y) +
             "\" y2=\"" + num(y) + "\" class=\"grid\"/>";
      out += "<text x=\"" + num(kLeft - 4) + "\" y=\"" + num(y + 3) +
             "\" text-anchor=\"end\" class=\"small\">" + label(v) + "</text>";
    }
    out += "<text x=\"" + num((kLeft + width_ - kRight) / 2) + "\" y=\"" + num(height_ - 4) +
           "\" text-anchor=\"middle\" class=\"small\">" + escape(xName_) + "</text>";
    out += "<text x=\"12\" y=\"" + num((kTop + height_ - kBottom) / 2) +
           "\" text-anchor=\"middle\" class=\"small\" transform=\"rotate(-90 12 " +
           num((kTop + height_ - kBottom) / 2) + ")\">" + escape(yName_) + "</text>";
    return out;
  }

  double width_;
  double height_;
  std::string title_;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
  bool logX_ = false, logY_ = false;
  bool yTicks_ = true;
  std::string xName_, yName_;
  std::string body_;
};

std::string legend(const std::vector<std::string>& names) {
  std::string out = "<div class=\"legend\">";
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += "<span><i style=\"background:" + std::string(color(i)) + "\"></i>" + escape(names[i]) +
           "</span>";
  }
  return out + "</div>";
}

double timelineEnd(const Scenario& s) {
  return static_cast<double>(s.duration.count()) * 1e-9;
}

// Shades each fault's window on a time plot.
void faultBands(Plot& plot, const Scenario& s, double yLow, double yHigh) {
  for (const FaultSpec& f : s.faults) {
    const double start = static_cast<double>(f.at.count()) * 1e-9;
    const double end = f.until ? static_cast<double>(f.until->count()) * 1e-9 : timelineEnd(s);
    plot.rect(start, end, yLow, yHigh, "#999", 0.15);
  }
}

std::string latencyPlots(const std::vector<Results>& runs) {
  double low = 1e300;
  double high = 0;
  for (const Results& r : runs) {
    if (r.latency.count() > 0) {
      low = std::min(low, std::max(1e-3, static_cast<double>(r.latency.min()) / 1e6));
      high = std::max(high, static_cast<double>(r.latency.max()) / 1e6);
    }
  }
  if (high <= 0) {
    return "<p>No successful requests: no latency to plot.</p>";
  }
  low = std::pow(10, std::floor(std::log10(low)));
  high = std::pow(10, std::ceil(std::log10(high)));
  Plot cdf(460, 300, "Latency CDF (successful requests)");
  cdf.x(low, high, true, "latency (ms), log scale");
  cdf.y(0, 1, false, "fraction of requests");
  Plot tail(460, 300, "Latency tail: share slower than x");
  tail.x(low, high, true, "latency (ms), log scale");
  tail.y(1e-5, 1, true, "1 - CDF, log scale");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::vector<std::array<double, 2>> points;
    std::vector<std::array<double, 2>> tailPoints;
    for (const auto& p : runs[i].latency.cdf(150)) {
      points.push_back({p[0] / 1e6, p[1]});
      if (1 - p[1] >= 1e-5) {
        tailPoints.push_back({p[0] / 1e6, 1 - p[1]});
      }
    }
    cdf.line(points, color(i));
    tail.line(tailPoints, color(i));
  }
  return "<div class=\"row\">" + cdf.svg() + tail.svg() + "</div>";
}

std::string throughputPlot(const Scenario& s, const std::vector<Results>& runs) {
  double high = 1;
  for (const Results& r : runs) {
    const double w = r.timeline.bucketSeconds;
    for (std::size_t i = 0; i < r.timeline.successes.size(); ++i) {
      high = std::max(high, (r.timeline.successes[i] + r.timeline.failures[i]) / w);
    }
  }
  Plot plot(930, 260, "Goodput (solid) and failures (dashed) over time, per second");
  plot.x(0, timelineEnd(s), false, "time (s)");
  plot.y(0, high * 1.05, false, "requests per second");
  faultBands(plot, s, 0, high * 1.05);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Timeline& t = runs[i].timeline;
    std::vector<std::array<double, 2>> ok;
    std::vector<std::array<double, 2>> bad;
    for (std::size_t b = 0; b < t.successes.size(); ++b) {
      const double mid = (static_cast<double>(b) + 0.5) * t.bucketSeconds;
      ok.push_back({mid, t.successes[b] / t.bucketSeconds});
      bad.push_back({mid, t.failures[b] / t.bucketSeconds});
    }
    plot.line(ok, color(i));
    plot.line(bad, color(i), "5 3");
  }
  return plot.svg();
}

std::string loadSharePlot(const Scenario& s, const Results& r) {
  const Timeline& t = r.timeline;
  Plot plot(460, 240, r.algorithm + ": load share over time");
  plot.x(0, timelineEnd(s), false, "time (s)");
  plot.y(0, 1, false, "share of attempts");
  const std::size_t n = r.backends.size();
  // Stacked shares: backend k's band spans cumulative shares [k, k + 1); drawn top down as
  // areas from 0, each covering the ones above it.
  std::vector<double> edges;
  std::vector<std::vector<double>> cumulative(n, std::vector<double>(t.attempts.size(), 0));
  for (std::size_t b = 0; b <= t.attempts.size(); ++b) {
    edges.push_back(static_cast<double>(b) * t.bucketSeconds);
  }
  for (std::size_t b = 0; b < t.attempts.size(); ++b) {
    double total = 0;
    for (std::uint32_t v : t.attempts[b]) {
      total += v;
    }
    double acc = 0;
    for (std::size_t k = 0; k < n; ++k) {
      acc += total > 0 ? t.attempts[b][k] / total : 0;
      cumulative[k][b] = acc;
    }
  }
  for (std::size_t k = n; k-- > 0;) {
    plot.stepArea(edges, cumulative[k], color(k));
  }
  for (const FaultSpec& f : s.faults) {
    plot.marker(static_cast<double>(f.at.count()) * 1e-9,
                s.backends[f.backend].id + " " + std::string(toString(f.kind)));
  }
  return plot.svg();
}

// Intervals during which a backend was in some state, from the event log.
struct Span {
  double from;
  double to;
};

std::vector<Span> spans(const Results& r, std::uint32_t backend, BackendEvent::Kind on,
                        std::initializer_list<BackendEvent::Kind> off, double end) {
  std::vector<Span> out;
  double since = -1;
  for (const BackendEvent& e : r.events) {
    if (e.backend != backend) {
      continue;
    }
    if (e.kind == on && since < 0) {
      since = e.at;
    } else if (since >= 0 && std::find(off.begin(), off.end(), e.kind) != off.end()) {
      out.push_back({since, e.at});
      since = -1;
    }
  }
  if (since >= 0) {
    out.push_back({since, end});
  }
  return out;
}

std::string timelinePlot(const Scenario& s, const Results& r) {
  using K = BackendEvent::Kind;
  std::vector<std::uint32_t> rows;
  for (std::uint32_t b = 0; b < r.backends.size(); ++b) {
    bool any = false;
    for (const BackendEvent& e : r.events) {
      any = any || e.backend == b;
    }
    if (any) {
      rows.push_back(b);
    }
  }
  if (rows.empty()) {
    return "";
  }
  const double end = std::max(timelineEnd(s), r.simulatedSeconds);
  const double rowHeight = 44;
  const double height = Plot::kTop + Plot::kBottom + rowHeight * static_cast<double>(rows.size());
  Plot plot(930, height, r.algorithm + ": faults, health and breakers per backend");
  plot.x(0, end, false, "time (s)");
  plot.y(0, static_cast<double>(rows.size()), false, "");
  plot.hideYTicks();
  struct Stripe {
    K on;
    std::initializer_list<K> off;
    const char* fill;
    double offset;  // from the row's top, in rows
  };
  const Stripe stripes[] = {
      {K::kFaultStart, {K::kFaultEnd}, "#7f7f7f", 0.08},
      {K::kHealthDown, {K::kHealthUp}, "#f28e2b", 0.26},
      {K::kEjected, {K::kUnejected}, "#b07aa1", 0.44},
      {K::kBreakerOpen, {K::kBreakerHalfOpen, K::kBreakerClosed}, "#e15759", 0.62},
      {K::kBreakerHalfOpen, {K::kBreakerOpen, K::kBreakerClosed}, "#edc948", 0.62},
      {K::kUnavailable, {K::kAvailable}, "#222222", 0.80},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double top = static_cast<double>(rows.size() - i);
    plot.raw("<text x=\"" + num(Plot::kLeft - 4) + "\" y=\"" + num(plot.py(top - 0.5) + 3) +
             "\" text-anchor=\"end\" class=\"small\">" + escape(r.backends[rows[i]].id) +
             "</text>");
    for (const Stripe& stripe : stripes) {
      for (const Span& span : spans(r, rows[i], stripe.on, stripe.off, end)) {
        plot.rect(span.from, span.to, top - stripe.offset - 0.16, top - stripe.offset, stripe.fill);
      }
    }
  }
  return plot.svg() +
         "<div class=\"legend\"><span><i style=\"background:#7f7f7f\"></i>fault</span>"
         "<span><i style=\"background:#f28e2b\"></i>health check: down</span>"
         "<span><i style=\"background:#b07aa1\"></i>outlier: ejected</span>"
         "<span><i style=\"background:#e15759\"></i>breaker open</span>"
         "<span><i style=\"background:#edc948\"></i>breaker half-open</span>"
         "<span><i style=\"background:#222\"></i>out of rotation</span></div>";
}

std::string summaryTable(const std::vector<Results>& runs) {
  std::string out = "<table><tr><th></th>";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    out += "<th><i class=\"swatch\" style=\"background:" + std::string(color(i)) + "\"></i>" +
           escape(runs[i].algorithm) + "</th>";
  }
  out += "</tr>";
  auto row = [&](const char* name, auto cell) {
    out += "<tr><td>" + std::string(name) + "</td>";
    for (const Results& r : runs) {
      out += "<td>" + cell(r) + "</td>";
    }
    out += "</tr>";
  };
  row("goodput (req/s)", [](const Results& r) { return num(r.goodput); });
  row("error rate", [](const Results& r) { return num(100 * r.errorRate, 2) + "%"; });
  row("p50 (ms)", [](const Results& r) { return num(r.success.p50, 2); });
  row("p99 (ms)", [](const Results& r) { return num(r.success.p99, 2); });
  row("p99.9 (ms)", [](const Results& r) { return num(r.success.p999, 2); });
  row("retries", [](const Results& r) { return std::to_string(r.retries); });
  row("Jain fairness", [](const Results& r) { return num(r.jain, 4); });
  return out + "</table>";
}

}  // namespace

std::string toHtml(const Scenario& s, const std::vector<Results>& runs) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fairway-sim: " +
      escape(s.name) +
      "</title><style>"
      "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222}"
      "h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}"
      "pre{font-size:12px;background:#f6f6f6;padding:10px;overflow-x:auto}"
      "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;"
      "border-bottom:1px solid #ddd}td:first-child{text-align:left}"
      ".row{display:flex;gap:10px;flex-wrap:wrap}"
      ".legend span{margin-right:14px;font-size:12px;white-space:nowrap}"
      ".legend i,.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}"
      "svg{font-family:system-ui,sans-serif}svg .title{font-size:13px;font-weight:600}"
      "svg .small{font-size:10px;fill:#444}svg .grid{stroke:#e4e4e4}"
      "</style></head><body>\n";
  html += "<h1>" + escape(s.name) + "</h1><p>" + escape(s.description) + "</p>\n";
  std::vector<std::string> names;
  for (const Results& r : runs) {
    names.push_back(r.algorithm);
  }
  html += "<h2>Summary</h2>" + summaryTable(runs) + "\n";
  html += "<h2>Latency</h2>" + legend(names) + latencyPlots(runs) + "\n";
  html += "<h2>Goodput over time</h2>" + legend(names) + throughputPlot(s, runs) +
          (s.faults.empty() ? std::string() : "<p class=\"legend\">Shaded: fault windows.</p>") +
          "\n";
  if (!runs.empty()) {
    std::vector<std::string> backendNames;
    for (const BackendResult& b : runs[0].backends) {
      backendNames.push_back(b.id);
    }
    html += "<h2>Load share over time</h2>" + legend(backendNames) + "<div class=\"row\">";
    for (const Results& r : runs) {
      html += loadSharePlot(s, r);
    }
    html += "</div>\n";
    std::string timelines;
    for (const Results& r : runs) {
      timelines += timelinePlot(s, r);
    }
    if (!timelines.empty()) {
      html += "<h2>Faults, health checks and breakers</h2>" + timelines + "\n";
    }
  }
  html += "<h2>All figures</h2><pre>" + escape(formatTable(s, runs)) + "</pre>\n";
  html +=
      "<p class=\"legend\">Generated by fairway-sim. Same scenario, algorithm and seed: the "
      "same figures, bit for bit.</p></body></html>\n";
  return html;
}

}  // namespace fairway::sim
