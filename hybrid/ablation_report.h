// An ablation's results as a CSV table (one row per variant), a markdown table with its plot
// (an SVG file beside it), and a self-contained HTML report with the same plot: quality against
// speed, evaluator NLL per token against wall time (lower-left is better). Written atomically
// by run_ablation.
#pragma once

#include <string>
#include <vector>

#include "hybrid/ablation.h"

namespace sculpt {

std::string ablation_csv(const std::vector<VariantResult>& results);
// `plot_file`: the SVG the table shows above it, relative to the markdown file ("" = none).
std::string ablation_markdown(const std::string& title, const std::vector<VariantResult>& results,
                              const std::string& plot_file = "");
std::string ablation_svg(const std::vector<VariantResult>& results);
std::string ablation_html(const std::string& title, const std::vector<VariantResult>& results);

}  // namespace sculpt
