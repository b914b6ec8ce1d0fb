#include "hybrid/ablation_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sculpt {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string joined_overrides(const AblationVariant& v) {
  std::string out;
  auto add = [&](const std::vector<std::string>& list, const char* prefix) {
    for (const std::string& o : list) out += (out.empty() ? "" : "; ") + std::string(prefix) + o;
  };
  add(v.overrides, "");
  add(v.drafter_train, "drafter_train.");
  add(v.refiner_train, "refiner_train.");
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

double seconds_per_prompt(const VariantMetrics& m) { return m.n_prompts > 0 ? m.seconds / double(m.n_prompts) : 0.0; }

std::string f1_text(const VariantMetrics& m) { return m.token_f1 < 0 ? "" : fixed(m.token_f1, 4); }

// Round tick steps (1, 2 or 5 times a power of ten) covering [lo, hi] in about five ticks.
std::vector<double> ticks(double lo, double hi) {
  const double raw = (hi - lo) / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push_back(t);
  return out;
}

// The quality-versus-speed scatter: x = wall seconds per prompt, y = NLL per token (± SE).
std::string svg_plot(const std::vector<VariantResult>& results) {
  const double width = 760, height = 440, left = 70, right = 20, top = 20, bottom = 50;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const VariantResult& r : results) {
    const double x = seconds_per_prompt(r.metrics), y = r.metrics.nll_per_token, e = r.metrics.nll_stderr;
    x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
    y_lo = std::min(y_lo, y - e), y_hi = std::max(y_hi, y + e);
  }
  if (results.empty()) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  // Speed axis from 0, so ratios of wall time read off the plot; padded quality axis.
  x_lo = 0;
  x_hi = x_hi > 0 ? x_hi * 1.1 : 1.0;
  const double y_pad = std::max(0.05, (y_hi - y_lo) * 0.1);
  y_lo -= y_pad, y_hi += y_pad;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (width - left - right); };
  auto py = [&](double y) { return top + (y_hi - y) / (y_hi - y_lo) * (height - top - bottom); };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(width, 0) + "\" height=\"" +
                    fixed(height, 0) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" + fixed(width - left - right, 1) +
         "\" height=\"" + fixed(height - top - bottom, 1) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double t : ticks(x_lo, x_hi))
    svg += "<text x=\"" + fixed(px(t), 1) + "\" y=\"" + fixed(height - bottom + 16, 1) +
           "\" text-anchor=\"middle\">" + fixed(t, t < 1 ? 2 : 1) + "</text>\n";
  for (double t : ticks(y_lo, y_hi))
    svg += "<text x=\"" + fixed(left - 6, 1) + "\" y=\"" + fixed(py(t) + 4, 1) + "\" text-anchor=\"end\">" +
           fixed(t, 2) + "</text>\n";
  svg += "<text x=\"" + fixed((left + width - right) / 2, 1) + "\" y=\"" + fixed(height - 12, 1) +
         "\" text-anchor=\"middle\">wall time per prompt (s)</text>\n";
  svg += "<text transform=\"translate(16," + fixed((top + height - bottom) / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\">evaluator NLL per token (nats; lower is better)</text>\n";
  // Points are labelled with their row number in the table below: names are too long to fit.
  for (size_t i = 0; i < results.size(); ++i) {
    const VariantResult& r = results[i];
    const double x = px(seconds_per_prompt(r.metrics)), y = py(r.metrics.nll_per_token);
    const double e_hi = py(r.metrics.nll_per_token + r.metrics.nll_stderr);
    const double e_lo = py(r.metrics.nll_per_token - r.metrics.nll_stderr);
    const char* colour = r.variant.baseline ? "#c0392b" : "#2c6fbb";
    svg += "<line x1=\"" + fixed(x, 1) + "\" x2=\"" + fixed(x, 1) + "\" y1=\"" + fixed(e_lo, 1) + "\" y2=\"" +
           fixed(e_hi, 1) + "\" stroke=\"" + colour + "\"/>\n";
    svg += "<circle cx=\"" + fixed(x, 1) + "\" cy=\"" + fixed(y, 1) + "\" r=\"4\" fill=\"" + colour + "\"><title>" +
           html_escape(r.variant.name) + "</title></circle>\n";
    svg += "<text x=\"" + fixed(x + 6, 1) + "\" y=\"" + fixed(y - 6, 1) + "\" fill=\"" + colour + "\">" +
           std::to_string(i + 1) + "</text>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace

std::string ablation_csv(const std::vector<VariantResult>& results) {
  std::string out =
      "variant,baseline,overrides,prompts,tokens,seconds,tokens_per_second,nll_per_token,nll_stderr,"
      "repeated_4gram,distinct_2,token_f1,forward_passes,edits,train_seconds\n";
  for (const VariantResult& r : results) {
    const VariantMetrics& m = r.metrics;
    out += csv_field(r.variant.name) + "," + (r.variant.baseline ? "true" : "false") + "," +
           csv_field(joined_overrides(r.variant)) + "," + std::to_string(m.n_prompts) + "," +
           std::to_string(m.n_tokens) + "," + fixed(m.seconds, 4) + "," + fixed(m.tokens_per_second, 2) + "," +
           fixed(m.nll_per_token, 5) + "," + fixed(m.nll_stderr, 5) + "," + fixed(m.repeated_4gram, 5) + "," +
           fixed(m.distinct_2, 5) + "," + f1_text(m) + "," + std::to_string(m.forward_passes) + "," +
           std::to_string(m.edits) + "," + fixed(m.train_seconds, 2) + "\n";
  }
  return out;
}

std::string ablation_svg(const std::vector<VariantResult>& results) { return svg_plot(results); }

std::string ablation_markdown(const std::string& title, const std::vector<VariantResult>& results,
                              const std::string& plot_file) {
  std::string out = "# Ablation: " + title + "\n\n";
  if (!plot_file.empty())
    out += "![Evaluator NLL per token (± SE) against wall time per prompt; baselines in red](" + plot_file + ")\n\n";
  out += "| variant | overrides | NLL/token (± SE) | rep-4 | distinct-2 | token F1 | s/prompt | tokens/s | passes | edits |\n";
  out += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const VariantResult& r : results) {
    const VariantMetrics& m = r.metrics;
    out += "| " + markdown_cell(r.variant.name) + (r.variant.baseline ? " (baseline)" : "") + " | " +
           markdown_cell(joined_overrides(r.variant)) + " | " + fixed(m.nll_per_token, 3) + " ± " +
           fixed(m.nll_stderr, 3) + " | " + fixed(m.repeated_4gram, 4) + " | " + fixed(m.distinct_2, 3) + " | " +
           (m.token_f1 < 0 ? std::string("–") : fixed(m.token_f1, 3)) + " | " + fixed(seconds_per_prompt(m), 3) +
           " | " + fixed(m.tokens_per_second, 1) + " | " + std::to_string(m.forward_passes) + " | " +
           std::to_string(m.edits) + " |\n";
  }
  return out;
}

std::string ablation_html(const std::string& title, const std::vector<VariantResult>& results) {
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Ablation: " + html_escape(title) +
                    "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(2),td:nth-child(3)"
                    "{text-align:left}</style></head><body>\n<h1>Ablation: " +
                    html_escape(title) + "</h1>\n<p>Quality against speed: evaluator NLL per token (± one standard "
                    "error over prompts) against generation wall time per prompt. Baselines in red.</p>\n";
  out += svg_plot(results);
  out += "<table>\n<tr><th>#</th><th>variant</th><th>overrides</th><th>NLL/token</th><th>± SE</th><th>rep-4</th>"
         "<th>distinct-2</th><th>token F1</th><th>s/prompt</th><th>tokens/s</th><th>passes</th><th>edits</th></tr>\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const VariantResult& r = results[i];
    const VariantMetrics& m = r.metrics;
    out += "<tr><td>" + std::to_string(i + 1) + "</td><td>" + html_escape(r.variant.name) + "</td><td>" + html_escape(joined_overrides(r.variant)) +
           "</td><td>" + fixed(m.nll_per_token, 3) + "</td><td>" + fixed(m.nll_stderr, 3) + "</td><td>" +
           fixed(m.repeated_4gram, 4) + "</td><td>" + fixed(m.distinct_2, 3) + "</td><td>" +
           (m.token_f1 < 0 ? std::string("–") : fixed(m.token_f1, 3)) + "</td><td>" +
           fixed(seconds_per_prompt(m), 3) + "</td><td>" + fixed(m.tokens_per_second, 1) + "</td><td>" +
           std::to_string(m.forward_passes) + "</td><td>" + std::to_string(m.edits) + "</td></tr>\n";
  }
  return out + "</table>\n</body></html>\n";
}

}  // namespace sculpt
