// `sculpt bench draft`: the drafter's speed as JSON: prefill and decode throughput (batch 1 and
// 8), decoding after a short and a long context, KV-cached decoding against recomputation at two
// lengths, cache bytes, peak resident memory, and how much of a batch-1 decode step is matrix
// products; on the CPU kernels (kernels/fast_decoder.h) when the model allows, else LibTorch.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "ar_draft/drafter.h"
#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fast_decoder_weights.h"
#include "core/int8_weights.h"
#include "core/kv_cache.h"
#include "core/lora_linear.h"
#include "kernels/kernels.h"
#include "train/train_config.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Random-init model of the config's shape (vocab_size must be set) or a model directory, its
// weights held as Drafter::load holds them.
Transformer bench_model(const po::variables_map& vm, DecodeBackend backend) {
  if (vm.count("model")) {
    const std::string dir = vm["model"].as<std::string>();
    return load_transformer(dir, {}, kernels_weights_dtype(dir, WeightsDType::kAuto, backend));
  }
  TrainConfig cfg = read_config<TrainConfig>(vm);
  if (cfg.model.vocab_size == 0) throw UsageError{"without --model, the config must set model.vocab_size"};
  Transformer model(cfg.model);
  model->eval();
  return model;
}

// Cached forward passes of one backend: LibTorch's TransformerImpl against a KvCache, or the
// CPU kernels' FastDecoder (fast != nullptr) with its own cache.
class CachedForward {
 public:
  CachedForward(TransformerImpl& model, const std::optional<FastDecoderModel>& fast, int64_t batch, int64_t capacity)
      : model_(model) {
    const ModelConfig& c = model.config();
    if (fast) {
      fast_ = std::make_unique<FastDecoder>(fast->shape, fast->weights, batch, capacity);
      logits_.resize(size_t(batch * c.vocab_size));
    } else {
      cache_ = std::make_unique<KvCache>(c.num_hidden_layers, batch, c.n_kv_heads(), capacity, c.n_head_dim());
    }
  }
  // Appends tokens int64 [batch, n] to the cache; the logits of the last position are computed.
  void run(const at::Tensor& tokens) {
    if (fast_) {
      const int64_t b = tokens.size(0), n = tokens.size(1), start = fast_->length();
      const at::Tensor positions = (at::arange(n, at::kLong) + start).expand({b, n}).contiguous();
      fast_->forward(tokens.contiguous().data_ptr<int64_t>(), positions.data_ptr<int64_t>(), n, nullptr, logits_.data());
      return;
    }
    ForwardArgs args;
    args.cache = cache_.get();
    model_.logits(model_.hidden_states(tokens, args).narrow(1, tokens.size(1) - 1, 1));
  }

 private:
  TransformerImpl& model_;
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<FastDecoder> fast_;
  std::vector<float> logits_;
};

// Tokens per second of decoding n_new tokens after a prompt of n_prompt, batch b: against the
// cache, or (use_cache false, LibTorch only) recomputing the whole sequence every step.
double decode_rate(TransformerImpl& model, const std::optional<FastDecoderModel>& fast, int64_t b, int64_t n_prompt,
                   int64_t n_new, bool use_cache) {
  const ModelConfig& c = model.config();
  at::NoGradGuard no_grad;
  at::Tensor seq = at::randint(0, c.vocab_size, {b, n_prompt + n_new}, at::kLong);
  if (!use_cache) {
    auto start = Clock::now();
    for (int64_t t = n_prompt; t < n_prompt + n_new; ++t)
      model.logits(model.hidden_states(seq.narrow(1, 0, t + 1)).narrow(1, t, 1));
    return double(b * n_new) / seconds(start);
  }
  CachedForward forward(model, fast, b, n_prompt + n_new);
  forward.run(seq.narrow(1, 0, n_prompt));
  auto start = Clock::now();
  for (int64_t t = n_prompt; t < n_prompt + n_new; ++t) forward.run(seq.narrow(1, t, 1));
  return double(b * n_new) / seconds(start);
}

// Seconds of one batch-1 decode step spent in the step's matrix products, timed in isolation
// with the same shapes and weights (q/k/v/o, gate/up/down per layer, the output head).
double matmul_seconds_per_step(TransformerImpl& model, const std::optional<FastDecoderModel>& fast, int reps) {
  at::NoGradGuard no_grad;
  auto params = model.named_parameters();
  auto buffers = model.named_buffers();
  std::vector<std::pair<at::Tensor, at::Tensor>> weights;  // each matrix and its int8 scales (if any)
  auto add = [&](const std::string& name) {
    const at::Tensor* scale = buffers.find(name + kInt8ScaleSuffix);
    weights.emplace_back(params[name], scale ? *scale : at::Tensor());
  };
  for (const auto& item : params)
    if (item.value().dim() == 2 && item.key().find("embed_tokens") == std::string::npos) add(item.key());
  if (model.config().tie_word_embeddings) add("model.embed_tokens.weight");
  at::Tensor x = at::randn({1, 1, model.config().hidden_size});
  at::Tensor wide = at::randn({1, 1, model.config().intermediate_size});
  std::vector<float> y(size_t(std::max(model.config().vocab_size, model.config().intermediate_size)));
  auto product = [&](const std::pair<at::Tensor, at::Tensor>& ws) {
    const auto& [w, scale] = ws;
    const at::Tensor& in = w.size(1) == x.size(2) ? x : wide;
    const WeightMatrix stored{w.data_ptr(), scale.defined() ? scale.data_ptr<float>() : nullptr};
    if (fast) linear(1, w.size(0), w.size(1), in.data_ptr<float>(), stored, fast->weights.matrix_type, y.data(), false);
    else linear_forward(in, w, {}, scale);
  };
  for (const auto& w : weights) product(w);  // warm-up
  auto start = Clock::now();
  for (int r = 0; r < reps; ++r)
    for (const auto& w : weights) product(w);
  return seconds(start) / reps;
}

int bench_draft(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>(), "model directory (else a random model of the config's shape)")
      ("decode-tokens", po::value<int64_t>()->default_value(64), "tokens decoded per measurement")
      ("prefill-tokens", po::value<int64_t>()->default_value(512), "prompt length for prefill throughput")
      ("backend", po::value<std::string>()->default_value("auto"),
       "auto (Sculpt's CPU kernels when the model allows) or libtorch");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench draft (--model DIR | --config FILE) [options]", options, vm)) return 0;
  read_config<TrainConfig>(vm);  // applies runtime.n_threads
  const DecodeBackend backend = parse_decode_backend(vm["backend"].as<std::string>());
  Transformer model = bench_model(vm, backend);
  const ModelConfig& c = model->config();
  const int64_t n_new = vm["decode-tokens"].as<int64_t>();
  const int64_t n_prefill = std::min(vm["prefill-tokens"].as<int64_t>(), c.max_position_embeddings);
  if (n_new < 1) throw UsageError{"--decode-tokens must be at least 1"};
  at::manual_seed(0);
  std::string why_not = "--backend libtorch";
  const std::optional<FastDecoderModel> fast =
      backend == DecodeBackend::kAuto ? fast_decoder_model(*model, &why_not) : std::nullopt;

  nlohmann::json out;
  out["model"] = {{"parameters", c.n_params()}, {"layers", c.num_hidden_layers}, {"hidden_size", c.hidden_size},
                  {"vocab_size", c.vocab_size}, {"context", c.max_position_embeddings},
                  {"weights_dtype", c.int8_group_size > 0 ? std::string("int8")
                                                          : str_cat(model->named_parameters()[0].value().scalar_type())}};
  out["threads"] = at::get_num_threads();
  out["backend"] = fast ? kernels_backend_name() : str_cat("libtorch (", why_not, ")");
  {
    at::NoGradGuard no_grad;
    at::Tensor prompt = at::randint(0, c.vocab_size, {1, n_prefill}, at::kLong);
    CachedForward(*model, fast, 1, n_prefill).run(prompt.narrow(1, 0, std::min<int64_t>(16, n_prefill)));  // warm-up
    // The median of 5 passes: one pass of a small model takes milliseconds, within the noise of a
    // shared machine.
    std::vector<double> rates;
    for (int rep = 0; rep < 5; ++rep) {
      CachedForward forward(*model, fast, 1, n_prefill);
      auto start = Clock::now();
      forward.run(prompt);
      rates.push_back(double(n_prefill) / seconds(start));
    }
    std::sort(rates.begin(), rates.end());
    out["prefill_tokens_per_second"] = rates[2];
    out["prefill_tokens"] = n_prefill;
  }
  const int64_t short_prompt = std::min<int64_t>(16, c.max_position_embeddings - n_new);
  if (short_prompt < 1) throw UsageError{"--decode-tokens leaves no room for a prompt in the context"};
  out["decode_tokens_per_second_batch1"] = decode_rate(*model, fast, 1, short_prompt, n_new, true);
  out["decode_tokens_per_second_batch8"] = decode_rate(*model, fast, 8, short_prompt, n_new, true);
  // What a long context costs a decoding step: attention reads every cached position.
  nlohmann::json by_context = nlohmann::json::array();
  for (int64_t context : {int64_t(128), int64_t(2048)})
    if (context + 16 <= c.max_position_embeddings)
      by_context.push_back({{"context_tokens", context},
                            {"decode_tokens_per_second", decode_rate(*model, fast, 1, context, 16, true)}});
  out["decode_by_context"] = by_context;

  nlohmann::json versus = nlohmann::json::array();
  for (int64_t length : {int64_t(256), int64_t(1024)}) {
    if (length > c.max_position_embeddings) continue;
    const int64_t measured = std::min<int64_t>(16, length / 2);
    const double cached = decode_rate(*model, fast, 1, length - measured, measured, true);
    const double recomputed = decode_rate(*model, fast, 1, length - measured, measured, false);
    versus.push_back({{"context_tokens", length}, {"cached_tokens_per_second", cached},
                      {"recomputed_tokens_per_second", recomputed}, {"speedup", cached / recomputed},
                      {"kv_cache_bytes", KvCache::bytes_for(c.num_hidden_layers, 1, c.n_kv_heads(), length, c.n_head_dim())}});
  }
  out["cache_vs_recompute"] = versus;

  const double step = 1.0 / out["decode_tokens_per_second_batch1"].get<double>();
  const double matmul = matmul_seconds_per_step(*model, fast, 20);
  out["decode_profile_batch1"] = {{"step_seconds", step}, {"matmul_seconds", matmul},
                                  {"matmul_fraction", std::min(1.0, matmul / step)},
                                  {"method", "the step's matrix products timed alone, same shapes and weights"}};
  out["peak_rss_bytes"] = peak_rss_bytes();
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_commands() {
  return {{"bench draft", "drafter speed as JSON: prefill, decode, cache vs recompute, profile", bench_draft}};
}

}  // namespace sculpt::cli
