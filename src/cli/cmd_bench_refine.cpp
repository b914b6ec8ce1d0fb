// `sculpt bench refine`: the refiner's figures as JSON.
//  - speed: a span of random tokens after a frozen context, time per denoising step without a
//    cache, with the prefix cache, and with the span cache over a few re-masked spans (what the
//    pipeline's fix does), end-to-end tokens/s, and which backend computed them;
//  - restoration: validation windows with a share of their tokens corrupted at random and
//    re-masked, restored one token per pass and by threshold decoding over a sweep of tau:
//    accuracy, tokens per forward pass, the paired relative accuracy loss with its standard
//    error, right tokens turned wrong;
//  - span writing: the last span-tokens of validation windows of context + span tokens masked
//    and written by threshold decoding in semi-autoregressive blocks: tokens per forward pass,
//    agreement with the original text, tokens/s.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_util.h"
#include "core/error.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/restoration.h"
#include "hybrid/pipeline_config.h"
#include "train/token_shards.h"
#include "train/train_config.h"

namespace sculpt::cli {
namespace {

// A refinement of a random canvas of n_context + n_span tokens in `steps` low-confidence steps:
// the last n_span positions masked (after a frozen context), or only `remasked` of them in four
// spans spread over the canvas's end (the pipeline's span workload).
RefineTrace refine_random(Refiner& refiner, int64_t n_context, int64_t n_span, int64_t remasked, int steps,
                          RefineCache cache, DecodeBackend backend) {
  const ModelConfig& c = refiner.model()->config();
  at::manual_seed(1);
  at::Tensor ids = at::randint(0, c.vocab_size - 1, {n_context + n_span}, at::kLong);
  ids = ids + (ids >= refiner.mask_id()).to(at::kLong);  // never the mask token
  std::vector<int64_t> tokens(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  Canvas canvas = Canvas::from_parts(std::vector<int64_t>(tokens.begin(), tokens.begin() + n_context),
                                     std::vector<int64_t>(tokens.begin() + n_context, tokens.end()));
  if (remasked >= n_span) {
    canvas.mark({{0, n_span}}, CanvasRole::kMasked);
  } else {
    const int64_t width = std::max<int64_t>(1, remasked / 4), gap = n_span / 4;
    for (int64_t s = 0; s < 4; ++s) canvas.mark({{s * gap, std::min(n_span, s * gap + width)}}, CanvasRole::kMasked);
  }
  RefineParams p;
  p.steps = steps;
  p.cache = cache;
  p.backend = backend;
  return refiner.refine(canvas, p).trace;
}

// Per-step time of each case: the whole span masked without a cache and with the prefix cache,
// and `remasked` positions in four spans with the span cache. The marginal cost of a step,
// (T(2S) - T(S)) / S, leaves out the first full pass that every mode makes; end-to-end rates
// include it.
nlohmann::json speed_figures(Refiner& refiner, int64_t n_context, int64_t n_span, int64_t remasked, int steps,
                             DecodeBackend backend) {
  nlohmann::json speed = {{"context_tokens", n_context}, {"span_tokens", n_span}, {"steps", steps},
                          {"tokens", "random"}};
  struct Case {
    const char* name;
    RefineCache cache;
    int64_t remasked;
  };
  std::vector<Case> cases = {{"no_cache", RefineCache::kNone, n_span}, {"prefix_cache", RefineCache::kPrefix, n_span}};
  if (refiner.model()->config().attention == AttentionMode::kBidirectional)
    cases.push_back({"span_cache", RefineCache::kSpans, remasked});
  speed["backend"] = refine_random(refiner, n_context, n_span, n_span, 2, RefineCache::kPrefix, backend).on_kernels  // warm-up
                         ? kernels_backend_name() : std::string("libtorch");
  for (const Case& k : cases) {
    const double t1 = refine_random(refiner, n_context, n_span, k.remasked, steps, k.cache, backend).seconds;
    const double t2 = refine_random(refiner, n_context, n_span, k.remasked, 2 * steps, k.cache, backend).seconds;
    speed[k.name] = {{"masked_tokens", std::min(k.remasked, n_span)},
                     {"seconds_per_step", std::max(0.0, t2 - t1) / steps},
                     {"end_to_end_seconds", t1},
                     {"end_to_end_tokens_per_second", double(std::min(k.remasked, n_span)) / t1}};
  }
  speed["prefix_cache_step_speedup"] = speed["no_cache"]["seconds_per_step"].get<double>() /
                                       std::max(1e-12, speed["prefix_cache"]["seconds_per_step"].get<double>());
  return speed;
}

std::vector<double> parse_taus(const std::string& text) {
  std::vector<double> taus;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double tau = -1;
    try {
      tau = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(tau >= 0 && tau <= 1))
      throw UsageError{"--taus must be comma-separated numbers in [0, 1], got '" + item + "'"};
    taus.push_back(tau);
  }
  if (taus.empty()) throw UsageError{"--taus needs at least one value"};
  return taus;
}

// One way of committing tokens, as measured.
struct DecodeMode {
  std::string name;
  RefineParams params;
};

// One-per-step (LLaDA with as many steps as tokens), then threshold decoding at each tau.
std::vector<DecodeMode> decode_modes(const RefineParams& base, const std::vector<double>& taus) {
  std::vector<DecodeMode> modes;
  RefineParams p = base;
  p.rule = DecodeRule::kLowConfidence;
  p.steps = 1 << 20;
  modes.push_back({"one_per_step", p});
  for (double tau : taus) {
    p.rule = DecodeRule::kThreshold;
    p.threshold = tau;
    std::ostringstream name;
    name << "threshold_" << tau;
    modes.push_back({name.str(), p});
  }
  return modes;
}

// Mean and standard error of per-window values.
std::pair<double, double> mean_and_se(const std::vector<double>& x) {
  if (x.empty()) return {0, 0};
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= double(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  var /= std::max<double>(1, double(x.size()) - 1);
  return {mean, std::sqrt(var / double(x.size()))};
}

nlohmann::json restoration_figures(Refiner& refiner, const TokenShard& valid, int64_t window, int64_t n_windows,
                                   double corrupt, const std::vector<DecodeMode>& modes) {
  SequentialWindows windows(valid, window);
  std::vector<int64_t> buf;
  const size_t n_modes = modes.size();
  std::vector<double> restored(n_modes, 0), corrupted(n_modes, 0), passes(n_modes, 0), broken(n_modes, 0);
  std::vector<std::vector<double>> loss_per_window(n_modes);  // restored(one_per_step) - restored(mode)
  std::map<int64_t, int64_t> token_counts;  // over the corruptible tokens: the context-free baseline
  int64_t n_done = 0;
  while (n_done < n_windows && windows.next(1, &buf) == 1) {
    // A quarter of the window is frozen context; the corruption falls in the rest.
    const int64_t n_frozen = window / 4;
    const std::vector<int64_t> context(buf.begin(), buf.begin() + n_frozen);
    const std::vector<int64_t> clean(buf.begin() + n_frozen, buf.begin() + window);
    for (int64_t id : clean) ++token_counts[id];
    int64_t base = 0;
    for (size_t m = 0; m < n_modes; ++m) {
      const RestorationResult r = run_restoration(refiner, context, clean, corrupt, modes[m].params, uint64_t(n_done));
      if (m == 0) base = r.n_restored;
      restored[m] += double(r.n_restored);
      corrupted[m] += double(r.n_corrupted);
      passes[m] += double(r.n_forward);
      broken[m] += double(r.accounting.n_broken);
      loss_per_window[m].push_back(double(base - r.n_restored));
    }
    ++n_done;
  }
  // Chance: always guessing the most frequent of these tokens (the corrupted positions are a
  // uniform sample of them), the best guess that ignores context.
  int64_t best = 0, total = 0;
  for (const auto& [id, count] : token_counts) {
    best = std::max(best, count);
    total += count;
  }
  nlohmann::json out = {{"windows", n_done}, {"window_tokens", window}, {"corrupted_share", corrupt},
                        {"corrupted_tokens", corrupted[0]}, {"split", "validation"},
                        {"most_frequent_token_accuracy", double(best) / double(std::max<int64_t>(1, total))}};
  const double base = restored[0] / std::max(1.0, corrupted[0]);
  for (size_t m = 0; m < n_modes; ++m) {
    const double acc = restored[m] / std::max(1.0, corrupted[m]);
    // Relative loss = sum of per-window differences / restored(one_per_step); its SE from the
    // spread of the paired per-window differences.
    const auto [mean_loss, se_loss] = mean_and_se(loss_per_window[m]);
    const double scale = double(n_done) / std::max(1.0, restored[0]);
    out[modes[m].name] = {{"restoration_accuracy", acc},
                          {"tokens_per_forward", corrupted[m] / std::max(1.0, passes[m])},
                          {"relative_accuracy_loss", base > 0 ? mean_loss * scale : 0.0},
                          {"relative_accuracy_loss_se", base > 0 ? se_loss * scale : 0.0},
                          {"right_tokens_turned_wrong", broken[m]}};
  }
  return out;
}

nlohmann::json span_writing_figures(Refiner& refiner, const TokenShard& valid, int64_t n_context, int64_t n_span,
                                    int64_t block, int64_t n_windows, const std::vector<DecodeMode>& modes) {
  SequentialWindows windows(valid, n_context + n_span);
  std::vector<int64_t> buf;
  std::vector<double> agree(modes.size(), 0), written(modes.size(), 0), passes(modes.size(), 0),
      secs(modes.size(), 0);
  int64_t n_done = 0;
  while (n_done < n_windows && windows.next(1, &buf) == 1) {
    const std::vector<int64_t> context(buf.begin(), buf.begin() + n_context);
    const std::vector<int64_t> truth(buf.begin() + n_context, buf.begin() + n_context + n_span);
    Canvas canvas = Canvas::from_parts(context, truth);
    canvas.mark({{0, n_span}}, CanvasRole::kMasked);
    for (size_t m = 0; m < modes.size(); ++m) {
      RefineParams p = modes[m].params;
      p.block_length = block;
      const RefineResult r = refiner.refine(canvas, p);
      for (int64_t i = 0; i < n_span; ++i) agree[m] += r.tokens[size_t(canvas.n_context + i)] == truth[size_t(i)];
      written[m] += double(n_span);
      passes[m] += double(r.trace.n_forward);
      secs[m] += r.trace.seconds;
    }
    ++n_done;
  }
  nlohmann::json out = {{"windows", n_done}, {"context_tokens", n_context}, {"span_tokens", n_span},
                        {"block_length", block}, {"split", "validation"}};
  for (size_t m = 0; m < modes.size(); ++m)
    out[modes[m].name] = {{"tokens_per_forward", written[m] / std::max(1.0, passes[m])},
                          {"agreement_with_original", agree[m] / std::max(1.0, written[m])},
                          {"tokens_per_second", written[m] / std::max(1e-12, secs[m])}};
  return out;
}

int bench_refine(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>()->required(), "refiner model directory")
      ("context-tokens", po::value<int64_t>()->default_value(768),
       "frozen context for the speed and span figures (with --span-tokens, within the refiner's context)")
      ("span-tokens", po::value<int64_t>()->default_value(256), "editable span for the speed and span figures")
      ("steps", po::value<int>()->default_value(16), "denoising steps for the speed figures")
      ("remasked-tokens", po::value<int64_t>()->default_value(32),
       "positions re-masked (four spans) for the span-cache speed figure")
      ("windows", po::value<int64_t>()->default_value(64),
       "validation windows of the config's data for the restoration figures; 0 = skip them")
      ("window-tokens", po::value<int64_t>()->default_value(256), "tokens per restoration window")
      ("corrupt", po::value<double>()->default_value(0.15, "0.15"), "share of each window's editable tokens corrupted")
      ("taus", po::value<std::string>()->default_value("0.9,0.7,0.5,0.3,0.2,0.1,0.05"),
       "threshold-decoding confidences measured")
      ("span-windows", po::value<int64_t>()->default_value(4), "validation windows for the span figures; 0 = skip them")
      ("span-block", po::value<int64_t>()->default_value(32), "semi-autoregressive block length for the span figures")
      ("span-taus", po::value<std::string>()->default_value("0.9,0.7,0.3,0.1"), "threshold-decoding confidences for the span figures");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench refine --model DIR [--config TRAIN_CONFIG] [options]", options, vm)) return 0;
  // --config is a training config (its data section: the validation windows); --set refine.*
  // sets the denoising the figures use, as in a pipeline config.
  TrainConfig cfg;
  PipelineConfig decoding;
  std::vector<std::string> train_overrides, refine_overrides;
  for (const std::string& o : set_overrides(vm)) (o.rfind("refine.", 0) == 0 ? refine_overrides : train_overrides).push_back(o);
  load_config(vm["config"].as<std::string>(), train_overrides, cfg);
  load_config("", refine_overrides, decoding);
  apply_runtime(cfg.runtime);
  const std::string model_dir = vm["model"].as<std::string>();
  const int64_t n_context = vm["context-tokens"].as<int64_t>(), n_span = vm["span-tokens"].as<int64_t>();
  const int steps = vm["steps"].as<int>();
  const int64_t remasked = vm["remasked-tokens"].as<int64_t>();
  const int64_t n_windows = vm["windows"].as<int64_t>(), window = vm["window-tokens"].as<int64_t>();
  const int64_t n_span_windows = vm["span-windows"].as<int64_t>(), span_block = vm["span-block"].as<int64_t>();
  const double corrupt = vm["corrupt"].as<double>();
  if (n_context < 1 || n_span < 1 || steps < 1 || remasked < 1)
    throw UsageError{"--context-tokens, --span-tokens, --steps and --remasked-tokens must be >= 1"};
  if (n_windows < 0 || n_span_windows < 0 || span_block < 0) throw UsageError{"--windows, --span-windows and --span-block must be >= 0"};
  if (window < 8) throw UsageError{"--window-tokens must be at least 8"};
  if (!(corrupt > 0 && corrupt <= 1)) throw UsageError{"--corrupt must be in (0, 1]"};
  const std::vector<double> taus = parse_taus(vm["taus"].as<std::string>());
  const std::vector<double> span_taus = parse_taus(vm["span-taus"].as<std::string>());
  if ((n_windows > 0 || n_span_windows > 0) && cfg.data.corpus.empty())
    throw UsageError{"the restoration and span figures need --config with the training data (or --windows 0 --span-windows 0)"};

  Refiner refiner = Refiner::load(model_dir, "", WeightsDType::kAuto, decoding.refine.backend);
  const ModelConfig& c = refiner.model()->config();
  if (n_context + n_span > c.max_position_embeddings)
    fail(model_dir, "context ", n_context, " + span ", n_span, " exceeds the refiner's context of ", c.max_position_embeddings);
  if (n_windows > 0 && window > c.max_position_embeddings)
    fail(model_dir, "--window-tokens ", window, " exceeds the refiner's context of ", c.max_position_embeddings);

  nlohmann::json out;
  out["model"] = {{"dir", model_dir}, {"parameters", c.n_params()}, {"attention", attention_mode_name(c.attention)},
                  {"logits_alignment", logits_alignment_name(c.logits_alignment)}, {"context", c.max_position_embeddings}};
  out["threads"] = at::get_num_threads();
  out["speed"] = speed_figures(refiner, n_context, n_span, remasked, steps, decoding.refine.backend);
  if (n_windows > 0 || n_span_windows > 0) {
    const ShardPaths paths = build_shards(cfg.data, refiner.tokenizer(), refiner.tokenizer().path());
    const TokenShard valid = TokenShard::open(paths.valid);
    if (n_windows > 0)
      out["restoration"] = restoration_figures(refiner, valid, window, n_windows, corrupt, decode_modes(decoding.refine, taus));
    if (n_span_windows > 0)
      out["span_writing"] = span_writing_figures(refiner, valid, n_context, n_span, span_block, n_span_windows,
                                                 decode_modes(decoding.refine, span_taus));
  }
  out["peak_rss_bytes"] = peak_rss_bytes();
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_refine_commands() {
  return {{"bench refine", "refiner figures as JSON: step time per cache, restoration, threshold decoding", bench_refine}};
}

}  // namespace sculpt::cli
