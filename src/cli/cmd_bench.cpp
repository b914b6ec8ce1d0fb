// `sculpt bench draft`: the drafter's speed as JSON: prefill and decode throughput (batch 1 and
// 8), KV-cached decoding against recomputation at two lengths, cache bytes, peak resident memory,
// and how much of a batch-1 decode step is matrix products.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ar_draft/drafter.h"
#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "core/token_shards.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/restoration.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

// Random-init model of the config's shape (vocab_size must be set) or a model directory.
Transformer bench_model(const po::variables_map& vm) {
  if (vm.count("model")) return load_transformer(vm["model"].as<std::string>());
  SculptConfig cfg = read_config(vm);
  if (cfg.model.vocab_size == 0) throw UsageError{"without --model, the config must set model.vocab_size"};
  Transformer model(cfg.model);
  model->eval();
  return model;
}

// Tokens per second of cached decoding of n_new tokens after a prompt of n_prompt, batch b.
double decode_rate(TransformerImpl& model, int64_t b, int64_t n_prompt, int64_t n_new, bool use_cache) {
  const ModelConfig& c = model.config();
  at::NoGradGuard no_grad;
  at::Tensor seq = at::randint(0, c.vocab_size, {b, n_prompt + n_new}, at::kLong);
  KvCache cache(c.num_hidden_layers, b, c.n_kv_heads(), n_prompt + n_new, c.n_head_dim());
  ForwardArgs args;
  if (use_cache) {
    args.cache = &cache;
    model.forward(seq.narrow(1, 0, n_prompt), args);
  }
  auto start = Clock::now();
  for (int64_t t = n_prompt; t < n_prompt + n_new; ++t) {
    if (use_cache) model.forward(seq.narrow(1, t, 1), args);
    else model.logits(model.hidden_states(seq.narrow(1, 0, t + 1)).narrow(1, t, 1));
  }
  return double(b * n_new) / seconds(start);
}

// Seconds of one batch-1 decode step spent in the step's matrix products, timed in isolation
// with the same shapes and weights (q/k/v/o, gate/up/down per layer, the output head).
double matmul_seconds_per_step(TransformerImpl& model, int reps) {
  at::NoGradGuard no_grad;
  auto params = model.named_parameters();
  std::vector<at::Tensor> weights;
  for (const auto& item : params)
    if (item.value().dim() == 2 && item.key().find("embed_tokens") == std::string::npos) weights.push_back(item.value());
  if (model.config().tie_word_embeddings) weights.push_back(params["model.embed_tokens.weight"]);
  at::Tensor x = at::randn({1, 1, model.config().hidden_size});
  at::Tensor wide = at::randn({1, 1, model.config().intermediate_size});
  for (const at::Tensor& w : weights) at::linear(w.size(1) == x.size(2) ? x : wide, w);  // warm-up
  auto start = Clock::now();
  for (int r = 0; r < reps; ++r)
    for (const at::Tensor& w : weights) at::linear(w.size(1) == x.size(2) ? x : wide, w);
  return seconds(start) / reps;
}

int bench_draft(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>(), "model directory (else a random model of the config's shape)")
      ("decode-tokens", po::value<int64_t>()->default_value(64), "tokens decoded per measurement")
      ("prefill-tokens", po::value<int64_t>()->default_value(512), "prompt length for prefill throughput");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench draft (--model DIR | --config FILE) [options]", options, vm)) return 0;
  read_config(vm);  // applies runtime.n_threads
  Transformer model = bench_model(vm);
  const ModelConfig& c = model->config();
  const int64_t n_new = vm["decode-tokens"].as<int64_t>();
  const int64_t n_prefill = std::min(vm["prefill-tokens"].as<int64_t>(), c.max_position_embeddings);
  if (n_new < 1) throw UsageError{"--decode-tokens must be at least 1"};
  at::manual_seed(0);

  nlohmann::json out;
  out["model"] = {{"parameters", c.n_params()}, {"layers", c.num_hidden_layers}, {"hidden_size", c.hidden_size},
                  {"vocab_size", c.vocab_size}, {"context", c.max_position_embeddings}};
  out["threads"] = at::get_num_threads();
  {
    at::NoGradGuard no_grad;
    at::Tensor prompt = at::randint(0, c.vocab_size, {1, n_prefill}, at::kLong);
    model->forward(prompt.narrow(1, 0, std::min<int64_t>(16, n_prefill)));  // warm-up
    auto start = Clock::now();
    model->hidden_states(prompt);
    out["prefill_tokens_per_second"] = double(n_prefill) / seconds(start);
    out["prefill_tokens"] = n_prefill;
  }
  const int64_t short_prompt = std::min<int64_t>(16, c.max_position_embeddings - n_new);
  if (short_prompt < 1) throw UsageError{"--decode-tokens leaves no room for a prompt in the context"};
  out["decode_tokens_per_second_batch1"] = decode_rate(*model, 1, short_prompt, n_new, true);
  out["decode_tokens_per_second_batch8"] = decode_rate(*model, 8, short_prompt, n_new, true);

  nlohmann::json versus = nlohmann::json::array();
  for (int64_t length : {int64_t(256), int64_t(1024)}) {
    if (length > c.max_position_embeddings) continue;
    const int64_t measured = std::min<int64_t>(16, length / 2);
    const double cached = decode_rate(*model, 1, length - measured, measured, true);
    const double recomputed = decode_rate(*model, 1, length - measured, measured, false);
    versus.push_back({{"context_tokens", length}, {"cached_tokens_per_second", cached},
                      {"recomputed_tokens_per_second", recomputed}, {"speedup", cached / recomputed},
                      {"kv_cache_bytes", KvCache::bytes_for(c.num_hidden_layers, 1, c.n_kv_heads(), length, c.n_head_dim())}});
  }
  out["cache_vs_recompute"] = versus;

  const double step = 1.0 / out["decode_tokens_per_second_batch1"].get<double>();
  const double matmul = matmul_seconds_per_step(*model, 20);
  out["decode_profile_batch1"] = {{"step_seconds", step}, {"matmul_seconds", matmul},
                                  {"matmul_fraction", std::min(1.0, matmul / step)},
                                  {"method", "the step's matrix products timed alone, same shapes and weights"}};
  out["peak_rss_bytes"] = peak_rss_bytes();
  std::cout << out.dump(2) << "\n";
  return 0;
}

// Seconds of a refinement of the last n_span positions of a random canvas of n_context + n_span
// tokens in `steps` low-confidence steps.
double refine_seconds(Refiner& refiner, int64_t n_context, int64_t n_span, int steps, bool prefix_cache) {
  const ModelConfig& c = refiner.model()->config();
  at::manual_seed(1);
  at::Tensor ids = at::randint(0, c.vocab_size - 1, {n_context + n_span}, at::kLong);
  ids = ids + (ids >= refiner.mask_id()).to(at::kLong);  // never the mask token
  std::vector<int64_t> tokens(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  Canvas canvas = Canvas::from_parts(std::vector<int64_t>(tokens.begin(), tokens.begin() + n_context),
                                     std::vector<int64_t>(tokens.begin() + n_context, tokens.end()));
  canvas.mark({{0, n_span}}, CanvasRole::kMasked);
  RefineParams p;
  p.steps = steps;
  p.prefix_cache = prefix_cache;
  return refiner.refine(canvas, p).trace.seconds;
}

int bench_refine(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>()->required(), "refiner model directory")
      ("context-tokens", po::value<int64_t>()->default_value(1024), "frozen context for the speed figures")
      ("span-tokens", po::value<int64_t>()->default_value(256), "editable span for the speed figures")
      ("steps", po::value<int>()->default_value(16), "denoising steps for the speed figures")
      ("windows", po::value<int64_t>()->default_value(16),
       "validation windows of the config's data for the restoration figures; 0 = skip them")
      ("corrupt", po::value<double>()->default_value(0.15), "share of each window's editable tokens corrupted");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench refine --model DIR [--config TRAIN_CONFIG] [options]", options, vm)) return 0;
  const SculptConfig cfg = read_config(vm);
  const std::string model_dir = vm["model"].as<std::string>();
  Refiner refiner = Refiner::load(model_dir);
  const ModelConfig& c = refiner.model()->config();
  const int64_t n_context = vm["context-tokens"].as<int64_t>(), n_span = vm["span-tokens"].as<int64_t>();
  const int steps = vm["steps"].as<int>();
  if (n_context < 1 || n_span < 1 || steps < 1) throw UsageError{"--context-tokens, --span-tokens and --steps must be >= 1"};
  if (n_context + n_span > c.max_position_embeddings)
    fail(model_dir, "context ", n_context, " + span ", n_span, " exceeds the refiner's context of ", c.max_position_embeddings);

  nlohmann::json out;
  out["model"] = {{"dir", model_dir}, {"parameters", c.n_params()}, {"attention", attention_mode_name(c.attention)},
                  {"logits_alignment", logits_alignment_name(c.logits_alignment)}, {"context", c.max_position_embeddings}};
  out["threads"] = at::get_num_threads();
  // The marginal cost of a step, (T(2S) - T(S)) / S, leaves out the first full pass that both
  // modes make; end-to-end rates include it.
  nlohmann::json speed = {{"context_tokens", n_context}, {"span_tokens", n_span}, {"steps", steps}};
  refine_seconds(refiner, n_context, n_span, 2, true);  // warm-up
  for (bool cache : {false, true}) {
    const double t1 = refine_seconds(refiner, n_context, n_span, steps, cache);
    const double t2 = refine_seconds(refiner, n_context, n_span, 2 * steps, cache);
    speed[cache ? "prefix_cache" : "no_cache"] = {{"seconds_per_step", std::max(0.0, t2 - t1) / steps},
                                                  {"end_to_end_seconds", t1},
                                                  {"end_to_end_tokens_per_second", double(n_span) / t1}};
  }
  speed["prefix_cache_step_speedup"] = speed["no_cache"]["seconds_per_step"].get<double>() /
                                       std::max(1e-12, speed["prefix_cache"]["seconds_per_step"].get<double>());
  out["speed"] = speed;

  const int64_t n_windows = vm["windows"].as<int64_t>();
  if (n_windows > 0) {
    if (cfg.data.corpus.empty()) throw UsageError{"the restoration figures need --config with the training data (or --windows 0)"};
    const ShardPaths paths = build_shards(cfg.data, refiner.tokenizer(), model_dir + "/tokenizer.model");
    const TokenShard valid = TokenShard::open(paths.valid);
    SequentialWindows windows(valid, cfg.data.seq_len);
    std::vector<int64_t> buf;
    const double corrupt = vm["corrupt"].as<double>();
    struct Mode { const char* name; DecodeRule rule; double tau; };
    const std::vector<Mode> modes = {{"one_per_step", DecodeRule::kLowConfidence, 0},
                                     {"threshold_0.9", DecodeRule::kThreshold, 0.9},
                                     {"threshold_0.7", DecodeRule::kThreshold, 0.7},
                                     {"threshold_0.5", DecodeRule::kThreshold, 0.5},
                                     {"threshold_0.3", DecodeRule::kThreshold, 0.3}};
    std::vector<double> restored(modes.size(), 0), corrupted(modes.size(), 0), passes(modes.size(), 0),
        broken(modes.size(), 0);
    int64_t n_done = 0;
    while (n_done < n_windows && windows.next(1, &buf) == 1) {
      // A quarter of the window is frozen context; the corruption falls in the rest.
      const int64_t n_frozen = cfg.data.seq_len / 4;
      const std::vector<int64_t> context(buf.begin(), buf.begin() + n_frozen);
      const std::vector<int64_t> clean(buf.begin() + n_frozen, buf.begin() + cfg.data.seq_len);
      for (size_t m = 0; m < modes.size(); ++m) {
        RefineParams p = cfg.refine;
        p.rule = modes[m].rule;
        p.threshold = modes[m].tau;
        p.steps = 1 << 20;  // one_per_step: as many steps as corrupted tokens
        const RestorationResult r = run_restoration(refiner, context, clean, corrupt, p, uint64_t(n_done));
        restored[m] += double(r.n_restored);
        corrupted[m] += double(r.n_corrupted);
        passes[m] += double(r.n_forward);
        broken[m] += double(r.accounting.n_broken);
      }
      ++n_done;
    }
    nlohmann::json quality = {{"windows", n_done}, {"window_tokens", cfg.data.seq_len}, {"corrupted_share", corrupt},
                              {"split", "validation"}};
    const double base = restored[0] / std::max(1.0, corrupted[0]);
    for (size_t m = 0; m < modes.size(); ++m) {
      const double acc = restored[m] / std::max(1.0, corrupted[m]);
      quality[modes[m].name] = {{"restoration_accuracy", acc},
                                {"tokens_per_forward", corrupted[m] / std::max(1.0, passes[m])},
                                {"relative_accuracy_loss", base > 0 ? (base - acc) / base : 0.0},
                                {"right_tokens_turned_wrong", broken[m]}};
    }
    out["restoration"] = quality;
  }
  out["peak_rss_bytes"] = peak_rss_bytes();
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_commands() {
  return {{"bench draft", "drafter speed as JSON: prefill, decode, cache vs recompute, profile", bench_draft},
          {"bench refine", "refiner speed and restoration as JSON: prefix cache, threshold decoding", bench_refine}};
}

}  // namespace sculpt::cli
