// `sculpt bench load`: what loading a model directory costs, as JSON: seconds, the weights'
// bytes as held, and resident memory before, after loading and at its peak once every weight
// has been read (weights taken straight from the file's mapping are only paged in when read);
// optionally the seconds of a one-token decoding step with the loaded weights.
#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/kv_cache.h"
#include "core/runtime_params.h"
#include "core/transformer.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Bytes of the checkpoint's weight files (model.safetensors or its shards).
int64_t checkpoint_bytes(const std::string& dir) {
  int64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") total += int64_t(entry.file_size());
  return total;
}

int bench_load(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("model", po::value<std::string>()->required(), "model directory")
      ("dtype", po::value<std::string>()->default_value("auto"), "weights held as (runtime.dtype): auto, checkpoint, float32, float16, bfloat16")
      ("decode-steps", po::value<int>()->default_value(0), "one-token decoding steps to time after loading (0 = none)")
      ("threads", po::value<int>()->default_value(0), "compute threads for the decoding steps (0 = all cores)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench load --model DIR [--dtype auto|checkpoint|float32|float16|bfloat16] [--decode-steps N]",
                     options, vm))
    return 0;
  const std::string dir = vm["model"].as<std::string>();
  const std::map<std::string, WeightsDType> dtypes = {
      {"auto", WeightsDType::kAuto},   {"checkpoint", WeightsDType::kCheckpoint}, {"float32", WeightsDType::kF32},
      {"float16", WeightsDType::kF16}, {"bfloat16", WeightsDType::kBF16}};
  const auto dtype = dtypes.find(vm["dtype"].as<std::string>());
  if (dtype == dtypes.end()) throw UsageError{"--dtype must be auto, checkpoint, float32, float16 or bfloat16"};
  const int steps = vm["decode-steps"].as<int>();
  if (steps < 0) throw UsageError{"--decode-steps must be at least 0"};
  RuntimeParams runtime;
  runtime.n_threads = vm["threads"].as<int>();
  apply_runtime(runtime);

  const int64_t rss_before = resident_bytes();
  const auto start = Clock::now();
  Transformer model = load_transformer(dir, {}, dtype->second);
  const double load_seconds = seconds_since(start);
  const int64_t rss_loaded = resident_bytes(), peak_loading = peak_rss_bytes();
  // Reading a byte of every page of every weight pages in what the load left mapped.
  int64_t weights = 0;
  uint64_t sink = 0;
  for (const auto& p : model->parameters()) {
    weights += int64_t(p.nbytes());
    const auto* bytes = static_cast<const volatile uint8_t*>(p.data_ptr());
    for (size_t i = 0; i < p.nbytes(); i += 4096) sink += bytes[i];
  }
  const int64_t rss_read = resident_bytes(), peak_read = peak_rss_bytes();
  const ModelConfig& c = model->config();

  nlohmann::json out = {{"bench", "load"},
                        {"model", dir},
                        {"family", c.family().name},
                        {"parameters", c.n_params()},
                        {"dtype", vm["dtype"].as<std::string>()},
                        {"checkpoint_bytes", checkpoint_bytes(dir)},
                        {"weights_bytes", weights},
                        {"load_seconds", load_seconds},
                        {"rss_before_bytes", rss_before},
                        {"rss_loaded_bytes", rss_loaded},
                        {"peak_rss_while_loading_bytes", peak_loading},
                        {"rss_after_reading_weights_bytes", rss_read},
                        {"peak_rss_after_reading_weights_bytes", peak_read},
                        // What loading and using the weights added to the process, per weight byte.
                        {"peak_added_over_weights", double(peak_read - rss_before) / double(weights)},
                        {"pages_checksum", sink}};
  if (steps > 0) {
    at::NoGradGuard no_grad;
    KvCache cache(c.num_hidden_layers, 1, c.n_kv_heads(), steps + 1, c.n_head_dim());
    ForwardArgs forward;
    forward.cache = &cache;
    at::Tensor token = at::zeros({1, 1}, at::kLong);
    model->forward(token, forward);  // the first step also pages the weights in
    const auto decode_start = Clock::now();
    for (int i = 0; i < steps; ++i) model->forward(token, forward);
    out["decode_seconds_per_token"] = seconds_since(decode_start) / steps;
    out["threads"] = at::get_num_threads();
    out["peak_rss_bytes"] = peak_rss_bytes();
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_load_commands() {
  return {{"bench load", "loading a model as JSON: seconds, weights' bytes, resident memory; a decoding step's cost",
           bench_load}};
}

}  // namespace sculpt::cli
