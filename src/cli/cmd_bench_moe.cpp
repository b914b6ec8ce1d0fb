// `sculpt bench moe`: the cost of a sparse mixture-of-experts layer (core/moe.h) against dense
// SwiGLU layers of the same active size (top_k * inner) and of the same total size
// (n_experts * inner), at prefill and decode sizes, as JSON. Median of repeated runs.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/moe.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;

double median_seconds(const std::function<void()>& run, int repeats) {
  run();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    run();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int bench_moe(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("dim", po::value<int64_t>()->default_value(512), "model width")
      ("inner", po::value<int64_t>()->default_value(1408), "each expert's SwiGLU inner width")
      ("experts", po::value<int64_t>()->default_value(8), "experts in the layer")
      ("top-k", po::value<int64_t>()->default_value(2), "experts per token")
      ("tokens", po::value<std::vector<int64_t>>()->multitoken()->default_value({1, 512}, "1 512"), "token counts to time")
      ("repeats", po::value<int>()->default_value(20), "timed runs per measurement (median reported)")
      ("threads", po::value<int>()->default_value(0), "compute threads; 0 = all cores");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench moe [--dim D] [--inner I] [--experts E] [--top-k K] [--tokens N...]", options, vm))
    return 0;
  const int64_t dim = vm["dim"].as<int64_t>(), inner = vm["inner"].as<int64_t>();
  const int64_t experts = vm["experts"].as<int64_t>(), top_k = vm["top-k"].as<int64_t>();
  const int repeats = vm["repeats"].as<int>();
  if (dim < 1 || inner < 1 || experts < 1 || top_k < 1 || top_k > experts || repeats < 1)
    throw UsageError{"need --dim, --inner, --experts, --repeats >= 1 and 1 <= --top-k <= --experts"};
  RuntimeParams runtime;
  runtime.n_threads = vm["threads"].as<int>();
  apply_runtime(runtime);

  at::manual_seed(0);
  at::NoGradGuard no_grad;
  SparseMoe moe(dim, inner, experts, top_k);
  Expert dense_active(dim, inner * top_k);  // the compute one token really does in the MoE layer
  Expert dense_total(dim, inner * experts);  // every expert's weights in one dense layer
  for (auto* m : {static_cast<torch::nn::Module*>(moe.get()), static_cast<torch::nn::Module*>(dense_active.get()),
                  static_cast<torch::nn::Module*>(dense_total.get())})
    for (auto& p : m->parameters()) p.normal_(0.0, 0.02);

  nlohmann::json rows = nlohmann::json::array();
  for (int64_t n : vm["tokens"].as<std::vector<int64_t>>()) {
    if (n < 1) throw UsageError{"--tokens must be at least 1"};
    const at::Tensor x = at::randn({1, n, dim});
    const double t_moe = median_seconds([&] { moe->forward(x); }, repeats);
    const double t_active = median_seconds([&] { dense_active->forward(x); }, repeats);
    const double t_total = median_seconds([&] { dense_total->forward(x); }, repeats);
    rows.push_back({{"tokens", n}, {"moe_seconds", t_moe}, {"dense_same_active_seconds", t_active},
                    {"dense_same_total_seconds", t_total}, {"moe_over_same_active", t_moe / t_active},
                    {"moe_over_same_total", t_moe / t_total}});
  }
  const int64_t expert_params = 3 * dim * inner;
  nlohmann::json out = {
      {"layer", {{"dim", dim}, {"inner", inner}, {"experts", experts}, {"top_k", top_k},
                 {"total_parameters", experts * expert_params + experts * dim},
                 {"active_parameters", top_k * expert_params + experts * dim}}},
      {"threads", at::get_num_threads()},
      {"method", "median forward time of one layer on random inputs and weights; dense layers are SwiGLU MLPs "
                 "with inner width top_k * inner (same active size) and experts * inner (same total size)"},
      {"results", rows}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_moe_commands() {
  return {{"bench moe", "mixture-of-experts layer cost against dense layers of the same active and total size", bench_moe}};
}

}  // namespace sculpt::cli
