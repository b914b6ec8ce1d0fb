// Mixture of experts: dispatch against the naive all-experts computation, one expert against the
// dense MLP, the load-balancing loss against its formula, the KV cache against recomputation,
// the Mixtral checkpoint layout, bad checkpoints, parameter counts, and tiny MoE models that train
// with either objective (the refiner then denoises a canvas). (Numerics against the Python reference: test_transformer's parity cases.)
#include "core/moe.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "core/safetensors.h"
#include "core/transformer.h"
#include "diffusion_refine/refiner.h"
#include "support/test_util.h"
#include "support/tiny_models.h"
#include "train/moe_balance.h"

namespace sculpt {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using sculpt::testing::TempDir;
using sculpt::testing::error_message;

ModelConfig moe_config(int64_t experts = 4, int64_t top_k = 2, AttentionMode mode = AttentionMode::kCausal) {
  ModelConfig c = sculpt::testing::small_model_config(50);
  c.intermediate_size = 48;  // unlike the width and the vocabulary, so shape errors show
  c.attention = mode;
  c.num_local_experts = experts;
  c.num_experts_per_tok = top_k;
  return c;
}

at::Tensor param(torch::nn::Module& m, const std::string& name) { return *m.named_parameters().find(name); }

// The mixture written out naively: every expert on every token, weighted by the router's
// renormalised top-k probability (zero where the expert was not chosen), summed.
at::Tensor naive_moe(SparseMoeImpl& moe, const at::Tensor& x) {
  const at::Tensor flat = x.reshape({-1, x.size(-1)});
  const at::Tensor probs = at::softmax(at::matmul(flat, param(moe, "gate.weight").t()), -1);
  auto [top, chosen] = at::topk(probs, moe.top_k(), -1);
  const at::Tensor weights = at::zeros_like(probs).scatter(1, chosen, top / top.sum(-1, true));  // [T, E]
  at::Tensor out = at::zeros_like(flat);
  for (int64_t e = 0; e < moe.n_experts(); ++e) {
    const std::string p = "experts." + std::to_string(e) + ".";
    const at::Tensor h = at::silu(at::matmul(flat, param(moe, p + "w1.weight").t())) * at::matmul(flat, param(moe, p + "w3.weight").t());
    out = out + weights.narrow(1, e, 1) * at::matmul(h, param(moe, p + "w2.weight").t());
  }
  return out.view(x.sizes());
}

TEST(MoeTest, DispatchEqualsTheNaiveAllExpertsComputationAndItsGradients) {
  for (int64_t top_k : {1, 2, 3}) {
    SparseMoe moe(16, 24, /*n_experts=*/8, top_k);
    sculpt::testing::randomise_weights(*moe, 7 + uint64_t(top_k));
    at::manual_seed(3);
    const at::Tensor x = at::randn({3, 7, 16});
    const at::Tensor r = at::randn({3, 7, 16});
    at::Tensor router_logits;
    const at::Tensor fast = moe->forward(x, &router_logits);
    const at::Tensor slow = naive_moe(*moe, x);
    EXPECT_EQ(router_logits.sizes(), (std::vector<int64_t>{21, 8}));
    EXPECT_LE((fast - slow).abs().max().item<double>(), 1e-4 * std::max(1.0, slow.abs().max().item<double>())) << top_k;
    // Gradients agree too: the dispatch trains what the formula says.
    (fast * r).sum().backward();
    std::vector<at::Tensor> fast_grads;
    for (auto& p : moe->parameters()) {  // an expert that got no token has no gradient yet
      fast_grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    (naive_moe(*moe, x) * r).sum().backward();
    const auto params = moe->parameters();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_LE((fast_grads[i] - params[i].grad()).abs().max().item<double>(), 1e-3) << "parameter " << i;
  }
}

TEST(MoeTest, OneExpertTopOneEqualsTheDenseMlp) {
  ModelConfig dense = moe_config(0);
  Transformer a(dense);
  sculpt::testing::randomise_weights(*a, 5);
  Transformer b(moe_config(/*experts=*/1, /*top_k=*/1));
  sculpt::testing::randomise_weights(*b, 6);  // the router's weight does not matter with one expert
  {
    at::NoGradGuard no_grad;
    auto from = a->named_parameters();
    for (auto& item : b->named_parameters()) {
      std::string name = item.key();
      for (auto [moe_name, mlp_name] : {std::pair<const char*, const char*>{"block_sparse_moe.experts.0.w1", "mlp.gate_proj"},
                                        {"block_sparse_moe.experts.0.w3", "mlp.up_proj"},
                                        {"block_sparse_moe.experts.0.w2", "mlp.down_proj"}})
        if (auto at = name.find(moe_name); at != std::string::npos) name.replace(at, std::strlen(moe_name), mlp_name);
      if (name.find("block_sparse_moe.gate") != std::string::npos) continue;
      item.value().copy_(*from.find(name));
    }
  }
  a->eval();
  b->eval();
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::randint(0, 50, {2, 9}, at::kLong);
  EXPECT_LE((a->forward(tokens) - b->forward(tokens)).abs().max().item<double>(), 1e-5);
}

TEST(MoeTest, LoadBalancingLossMatchesItsFormula) {
  at::manual_seed(11);
  const int64_t E = 5, k = 2;
  const std::vector<at::Tensor> logits = {at::randn({13, E}) * 2, at::randn({9, E}) * 2};
  // By hand: n_experts * sum_k sum_e f[k][e] * P[e] over all layers' tokens.
  std::vector<std::vector<double>> f(k, std::vector<double>(E, 0.0));
  std::vector<double> P(E, 0.0);
  int64_t n = 0;
  for (const at::Tensor& layer : logits)
    for (int64_t t = 0; t < layer.size(0); ++t, ++n) {
      std::vector<double> p(E);
      double z = 0;
      for (int64_t e = 0; e < E; ++e) z += p[size_t(e)] = std::exp(layer[t][e].item<double>());
      std::vector<int64_t> order(E);
      for (int64_t e = 0; e < E; ++e) p[size_t(e)] /= z, order[size_t(e)] = e, P[size_t(e)] += p[size_t(e)];
      std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return p[size_t(i)] > p[size_t(j)]; });
      for (int64_t j = 0; j < k; ++j) f[size_t(j)][size_t(order[size_t(j)])] += 1;
    }
  double want = 0;
  for (int64_t j = 0; j < k; ++j)
    for (int64_t e = 0; e < E; ++e) want += (f[size_t(j)][size_t(e)] / double(n)) * (P[size_t(e)] / double(n));
  want *= double(E);
  EXPECT_NEAR(load_balancing_loss(logits, k).item<double>(), want, 1e-5);
  const at::Tensor load = expert_load(logits, k);
  EXPECT_NEAR(load.sum().item<double>(), 1.0, 1e-6);
  for (int64_t e = 0; e < E; ++e)
    EXPECT_NEAR(load[e].item<double>(), (f[0][size_t(e)] + f[1][size_t(e)]) / double(n * k), 1e-6);
  // Routing that always picks the same experts costs more than balanced routing.
  at::Tensor skewed = at::zeros({20, E});
  skewed.narrow(1, 0, 2).fill_(5.0);
  EXPECT_GT(load_balancing_loss({skewed}, k).item<double>(), load_balancing_loss(logits, k).item<double>());
  EXPECT_THROW(load_balancing_loss({}, k), Error);
}

TEST(MoeTest, CachedDecodingEqualsRecomputation) {
  Transformer model(moe_config(4, 2));
  sculpt::testing::randomise_weights(*model, 9);
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor seq = at::randint(0, 50, {2, 20}, at::kLong);
  const at::Tensor full = model->forward(seq);
  KvCache cache(2, 2, 2, 64, 8);
  ForwardArgs args;
  args.cache = &cache;
  double diff = (model->forward(seq.narrow(1, 0, 8), args) - full.narrow(1, 0, 8)).abs().max().item<double>();
  for (int64_t t = 8; t < 20; ++t)
    diff = std::max(diff, (model->forward(seq.narrow(1, t, 1), args) - full.narrow(1, t, 1)).abs().max().item<double>());
  EXPECT_LE(diff, 1e-4);
}

TEST(MoeTest, CheckpointsUseTheMixtralLayout) {
  TempDir dir("sculpt_moe");
  ModelConfig c = moe_config(4, 2);
  c.moe_layers = {1};  // layer 0 dense, layer 1 sparse
  Transformer model(c);
  sculpt::testing::randomise_weights(*model, 4);
  model->eval();
  save_transformer(*model, dir.path());
  const nlohmann::json config = nlohmann::json::parse(read_file(dir.file("config.json")));
  EXPECT_EQ(config["model_type"], "mixtral");
  EXPECT_EQ(config["architectures"][0], "MixtralForCausalLM");
  EXPECT_EQ(config["num_local_experts"], 4);
  EXPECT_EQ(config["num_experts_per_tok"], 2);
  EXPECT_EQ(config["sculpt_moe_layers"], nlohmann::json::array({1}));
  SafetensorsFile file = SafetensorsFile::open(dir.file("model.safetensors"));
  std::set<std::string> names;
  for (const TensorInfo& t : file.tensors()) names.insert(t.name);
  EXPECT_TRUE(names.count("model.layers.0.mlp.gate_proj.weight"));
  EXPECT_TRUE(names.count("model.layers.1.block_sparse_moe.gate.weight"));
  for (int e = 0; e < 4; ++e)
    for (const char* w : {"w1", "w2", "w3"})
      EXPECT_TRUE(names.count("model.layers.1.block_sparse_moe.experts." + std::to_string(e) + "." + w + ".weight"));
  EXPECT_EQ(file.at("model.layers.1.block_sparse_moe.experts.2.w2.weight").shape, (std::vector<int64_t>{32, 48}));
  Transformer loaded = load_transformer(dir.path());
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::randint(0, 50, {1, 7}, at::kLong);
  EXPECT_TRUE(at::equal(loaded->forward(tokens), model->forward(tokens)));
  // Parameter counts: total from the tensors, active with top-k experts of each sparse layer.
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  EXPECT_EQ(c.n_params(), total);
  EXPECT_EQ(c.n_active_params(), total - 2 * 3 * 32 * 48);  // 2 of the 4 experts idle per token
}

TEST(MoeTest, BadCheckpointsNameTheTensor) {
  TempDir dir("sculpt_moe_bad");
  Transformer model(moe_config(4, 2));
  save_transformer(*model, dir.path());
  const std::string config = read_file(dir.file("config.json"));
  auto with_config = [&](const std::string& from, const std::string& to) {
    std::string edited = config;
    edited.replace(edited.find(from), from.size(), to);
    write_file_atomic(dir.file("config.json"), edited);
    return error_message([&] { load_transformer(dir.path()); });
  };
  EXPECT_THAT(with_config("\"num_local_experts\": 4", "\"num_local_experts\": 6"),
              AllOf(HasSubstr("block_sparse_moe.gate.weight"), HasSubstr("[4, 32]"), HasSubstr("[6, 32]")));
  EXPECT_THAT(with_config("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 5"),
              AllOf(HasSubstr("config.json"), HasSubstr("num_experts_per_tok")));
  write_file_atomic(dir.file("config.json"), config);
  // A checkpoint missing one expert's tensor.
  SafetensorsFile file = SafetensorsFile::open(dir.file("model.safetensors"));
  std::vector<TensorView> views;
  for (const TensorInfo& t : file.tensors())
    if (t.name != "model.layers.0.block_sparse_moe.experts.3.w2.weight")
      views.push_back(TensorView{t.name, t.dtype, t.shape, file.data(t)});
  write_safetensors(dir.file("short.safetensors"), views, {});
  std::rename(dir.file("short.safetensors").c_str(), dir.file("model.safetensors").c_str());
  EXPECT_THAT(error_message([&] { load_transformer(dir.path()); }),
              AllOf(HasSubstr("missing tensor 'model.layers.0.block_sparse_moe.experts.3.w2.weight'")));
  ModelConfig bad = moe_config(4, 2);
  bad.moe_layers = {5};
  EXPECT_THAT(error_message([&] { bad.validate_complete(); }), HasSubstr("sculpt_moe_layers"));
}

// A tiny MoE model trains with either objective, logging the balancing loss and expert load.
TEST(MoeTest, TinyMoeModelsTrainWithEitherObjective) {
  TempDir dir("sculpt_moe_train");
  sculpt::testing::make_template_corpus(dir, 120);
  for (AttentionMode mode : {AttentionMode::kCausal, AttentionMode::kBidirectional}) {
    const std::string name = mode == AttentionMode::kCausal ? "drafter" : "refiner";
    const TrainResult r = sculpt::testing::train_tiny_model(dir, name, mode, 120, /*hidden=*/32, /*context=*/64, /*seq_len=*/32,
                                                            [](TrainConfig& c) {
                                                              c.model.num_local_experts = 4;
                                                              c.model.num_experts_per_tok = 2;
                                                              c.train.log_every = 20;
                                                            });
    ASSERT_EQ(r.losses.size(), 120u);
    double first = 0, last = 0;
    for (size_t i = 0; i < 10; ++i) first += r.losses[i] / 10, last += r.losses[r.losses.size() - 1 - i] / 10;
    // Well below where it started (the masked-diffusion loss is noisier: t varies per sequence).
    EXPECT_LT(last, (mode == AttentionMode::kCausal ? 0.6 : 0.85) * first) << name;
    std::ifstream log(dir.file(name + "/train_log.jsonl"));
    std::string line, last_line;
    while (std::getline(log, line))
      if (line.find("expert_load") != std::string::npos) last_line = line;
    ASSERT_FALSE(last_line.empty());
    const nlohmann::json j = nlohmann::json::parse(last_line);
    ASSERT_EQ(j["expert_load"].size(), 4u);
    double sum = 0;
    for (double share : j["expert_load"]) sum += share;
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_GT(j["aux_loss"].get<double>(), 0.0);
    Transformer trained = load_transformer(dir.file(name));
    EXPECT_EQ(trained->config().num_local_experts, 4);
    if (mode == AttentionMode::kCausal) continue;
    // The MoE refiner denoises a canvas: masked positions written, frozen ones untouched.
    Refiner refiner = Refiner::load(dir.file(name));
    std::vector<int64_t> ids;
    for (TokenId id : refiner.tokenizer().encode(sculpt::testing::make_document(5, 2))) ids.push_back(id);
    ASSERT_GE(ids.size(), 16u);
    Canvas canvas = Canvas::from_parts(std::vector<int64_t>(ids.begin(), ids.begin() + 8),
                                       std::vector<int64_t>(ids.begin() + 8, ids.begin() + 16));
    canvas.mark({{2, 6}}, CanvasRole::kMasked);
    RefineParams params;
    params.steps = 4;
    const RefineResult refined = refiner.refine(canvas, params);
    ASSERT_EQ(int64_t(refined.tokens.size()), canvas.size());
    for (int64_t i = 0; i < canvas.size(); ++i) {
      if (i < canvas.n_context) {
        EXPECT_EQ(refined.tokens[size_t(i)], canvas.tokens[size_t(i)]);
      }
      EXPECT_NE(refined.tokens[size_t(i)], refiner.tokenizer().mask_id());
    }
  }
}

}  // namespace
}  // namespace sculpt
