// An ablation's results as a CSV table (one row per variant), a markdown table and a
// self-contained HTML report whose plot shows quality against speed (evaluator NLL per token
// against wall time; lower-left is better). Written atomically by run_ablation.
#pragma once

#include <string>
#include <vector>

#include "hybrid/ablation.h"

namespace sculpt {

std::string ablation_csv(const std::vector<VariantResult>& results);
std::string ablation_markdown(const std::string& title, const std::vector<VariantResult>& results);
std::string ablation_html(const std::string& title, const std::vector<VariantResult>& results);

}  // namespace sculpt
