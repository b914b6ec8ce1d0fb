// LoRA adapters (train/lora_adapter.h, core/lora_merge.h): a zero B leaves the model exactly
// as it was, merging computes what the adapter computes, training moves only the adapter, the
// PEFT layout round-trips and reads
// what an independent writer (tests/reference/llama_reference.py) wrote, with its numerics, and
// bad adapters give clear errors.
#include "train/lora_adapter.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "support/test_util.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using sculpt::testing::TempDir;

ModelConfig tiny_config(bool tied = true) {
  ModelConfig c = sculpt::testing::small_model_config(/*vocab_size=*/50);
  c.tie_word_embeddings = tied;
  return c;
}

Transformer random_model(uint64_t seed, bool tied = true) {
  Transformer model(tiny_config(tied));
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (auto& p : model->parameters()) p.normal_(0.0, 0.1);
  model->eval();
  return model;
}

at::Tensor tokens() {
  at::manual_seed(99);
  return at::randint(0, 50, {2, 12}, at::kLong);
}

at::Tensor logits_of(TransformerImpl& model) {
  at::NoGradGuard no_grad;
  return model.forward(tokens());
}

// B drawn at random, so the adapter changes the output.
void randomise_b(const LoraAdapter& lora, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  const std::vector<at::Tensor> params = lora.parameters();
  for (size_t i = 1; i < params.size(); i += 2) params[i].normal_(0.0, 0.2);
}

LoraParams params(std::vector<std::string> targets, int64_t rank = 4) {
  LoraParams p;
  p.rank = rank;
  p.alpha = 8;
  p.dropout = 0;
  p.target_modules = std::move(targets);
  return p;
}

TEST(LoraTest, ZeroBLeavesTheModelExactlyAsItWas) {
  Transformer model = random_model(1, /*tied=*/false);
  const at::Tensor base = logits_of(*model);
  LoraAdapter lora = LoraAdapter::attach(*model, params({"all-linear", "lm_head"}), /*seed=*/3);
  EXPECT_EQ(lora.layer_names().size(), 2u * 7 + 1);  // 7 projections per layer, and the head
  EXPECT_TRUE(logits_of(*model).equal(base));
}

TEST(LoraTest, TargetsMatchAsPeftDoes) {
  Transformer model = random_model(1);
  LoraAdapter lora = LoraAdapter::attach(*model, params({"q_proj", "model.layers.1.mlp.up_proj"}), 3);
  EXPECT_EQ(lora.layer_names(), (std::vector<std::string>{"model.layers.0.self_attn.q_proj",
                                                          "model.layers.1.self_attn.q_proj",
                                                          "model.layers.1.mlp.up_proj"}));
  // q_proj: [32 x 32] at rank 4 -> 4 * 32 + 32 * 4; up_proj [64 x 32] -> 4 * 32 + 64 * 4.
  EXPECT_EQ(lora.n_parameters(), 2 * (4 * 32 + 32 * 4) + (4 * 32 + 64 * 4));
}

TEST(LoraTest, TheUpdateIsScalingTimesBA) {
  Transformer model = random_model(1);
  LoraParams p = params({"v_proj"}, /*rank=*/2);
  LoraAdapter lora = LoraAdapter::attach(*model, p, 3);
  randomise_b(lora, 4);
  // By hand for one layer: y = x W^T + (alpha / r) (x A^T) B^T.
  auto layer = std::dynamic_pointer_cast<LoraLinearImpl>(model->named_modules()["model.layers.0.self_attn.v_proj"]);
  ASSERT_TRUE(layer);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({3, 32});
  const at::Tensor want = at::matmul(x, layer->weight.t()) +
                          at::matmul(at::matmul(x, layer->adapter().a.t()), layer->adapter().b.t()) * (8.0 / 2.0);
  EXPECT_TRUE(at::allclose(layer->forward(x), want, 1e-5, 1e-6));
  p.use_rslora = true;
  EXPECT_DOUBLE_EQ(p.scaling(), 8.0 / std::sqrt(2.0));
}

TEST(LoraTest, MergeThenRunEqualsRunWithTheAdapter) {
  Transformer model = random_model(1, /*tied=*/false);
  LoraAdapter lora = LoraAdapter::attach(*model, params({"all-linear", "lm_head"}), 3);
  randomise_b(lora, 4);
  const at::Tensor adapted = logits_of(*model);
  EXPECT_FALSE(adapted.equal(logits_of(*random_model(1, false))));
  lora.merge();
  EXPECT_TRUE(lora.empty());
  const at::Tensor merged = logits_of(*model);
  const double diff = (merged - adapted).abs().max().item<double>();
  std::printf("max |merged - adapted| logit difference: %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
  for (const at::Tensor& p : model->parameters()) EXPECT_TRUE(p.requires_grad());  // unfrozen again
}

TEST(LoraTest, TrainingMovesOnlyTheAdapter) {
  Transformer model = random_model(1);
  model->train();
  std::map<std::string, at::Tensor> before;
  for (const auto& item : model->named_parameters()) before[item.key()] = item.value().detach().clone();
  LoraParams p = params({"q_proj", "v_proj", "down_proj"});
  p.dropout = 0.1;
  LoraAdapter lora = LoraAdapter::attach(*model, p, 3);
  for (const at::Tensor& t : model->parameters()) EXPECT_FALSE(t.requires_grad());
  std::vector<at::Tensor> adapter_before;
  for (const at::Tensor& t : lora.parameters()) adapter_before.push_back(t.detach().clone());
  // Adam, whose steps do not scale with the gradient: q_proj's gradients are tiny here.
  torch::optim::Adam adam(lora.parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    const at::Tensor t = tokens();
    const at::Tensor logits = model->forward(t.narrow(1, 0, 11));
    at::cross_entropy_loss(logits.reshape({-1, 50}), t.narrow(1, 1, 11).reshape({-1})).backward();
    adam.step();
  }
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(item.value().equal(before[item.key()])) << item.key();
    EXPECT_FALSE(item.value().grad().defined()) << item.key();
  }
  const std::vector<at::Tensor> after = lora.parameters();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_FALSE(after[i].equal(adapter_before[i])) << i;
}

TEST(LoraTest, PeftLayoutRoundTrips) {
  TempDir dir("sculpt_lora");
  Transformer model = random_model(1);
  LoraAdapter lora = LoraAdapter::attach(*model, params({"q_proj", "gate_proj"}), 3);
  randomise_b(lora, 4);
  const at::Tensor adapted = logits_of(*model);
  lora.save(dir.file("adapter"), "models/drafter");

  const nlohmann::json config = nlohmann::json::parse(read_file(dir.file("adapter/adapter_config.json")));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["r"], 4);
  EXPECT_EQ(config["lora_alpha"], 8.0);
  EXPECT_EQ(config["target_modules"], nlohmann::json({"q_proj", "gate_proj"}));
  EXPECT_EQ(config["base_model_name_or_path"], "models/drafter");
  const SafetensorsFile file = SafetensorsFile::open(dir.file("adapter/adapter_model.safetensors"));
  ASSERT_EQ(file.tensors().size(), 8u);
  EXPECT_EQ(file.at("base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight").shape,
            (std::vector<int64_t>{64, 4}));
  EXPECT_EQ(file.at("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape,
            (std::vector<int64_t>{4, 32}));

  Transformer fresh = random_model(1);
  LoraAdapter loaded = LoraAdapter::load(*fresh, dir.file("adapter"));
  EXPECT_EQ(loaded.layer_names(), lora.layer_names());
  EXPECT_EQ(loaded.params().rank, 4);
  EXPECT_TRUE(logits_of(*fresh).equal(adapted));
}

TEST(LoraTest, ReadsTheReferenceWritersAdapterWithItsNumerics) {
  if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
  TempDir dir("sculpt_lora_ref");
  std::string output;
  const std::string cmd = std::string(SCULPT_REFERENCE_PYTHON) + " " SCULPT_SOURCE_DIR
                          "/tests/reference/llama_reference.py --init-std 0.1 --out " + dir.path() +
                          " --lora-rank 4 --lora-alpha 8 --lora-targets q_proj,v_proj,down_proj,lm_head";
  ASSERT_EQ(sculpt::testing::run_command(cmd, &output), 0) << output;
  Transformer model = load_transformer(dir.path());
  LoraAdapter lora = LoraAdapter::load(*model, dir.file("adapter"));
  EXPECT_EQ(lora.layer_names().size(), 2u * 3 + 1);
  const SafetensorsFile expected = SafetensorsFile::open(dir.file("expected.safetensors"));
  auto get = [&](const char* name) {
    const TensorInfo& info = expected.at(name);
    return at::from_blob(const_cast<uint8_t*>(expected.data(info)), info.shape, at::kFloat).clone();
  };
  at::NoGradGuard no_grad;
  ForwardArgs args;
  args.positions = get("position_ids").to(at::kLong);
  const at::Tensor logits = model->forward(get("input_ids").to(at::kLong), args);
  const double diff = (logits - get("logits")).abs().max().item<double>();
  std::printf("[ parity ] LoRA adapter: max |logit diff| = %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
  lora.merge();
  EXPECT_LE((model->forward(get("input_ids").to(at::kLong), args) - get("logits")).abs().max().item<double>(), 1e-4);
}

TEST(LoraTest, BadTargetsRanksAndAdaptersGiveClearErrors) {
  Transformer model = random_model(1);
  EXPECT_THAT([&] { LoraAdapter::attach(*model, params({"qkv_proj"}), 3); },
              ThrowsMessage<Error>(HasSubstr("match no linear layer of the model; its layers are q_proj, k_proj")));
  EXPECT_THAT([&] { LoraAdapter::attach(*model, params({"lm_head"}), 3); },  // tied: there is no lm_head layer
              ThrowsMessage<Error>(HasSubstr("match no linear layer")));
  EXPECT_THAT([&] { LoraAdapter::attach(*model, params({"k_proj"}, /*rank=*/17), 3); },
              ThrowsMessage<Error>(HasSubstr("is larger than layer model.layers.0.self_attn.k_proj [16 x 32] allows (at most 16)")));
  LoraAdapter first = LoraAdapter::attach(*model, params({"q_proj"}), 3);
  EXPECT_THAT([&] { LoraAdapter::attach(*model, params({"q_proj"}), 3); },
              ThrowsMessage<Error>(HasSubstr("already carries an adapter")));
  TempDir dir("sculpt_lora_bad");
  first.save(dir.file("adapter"), "base");

  // Same architecture, other weights: the fingerprint tells.
  Transformer other = random_model(2);
  EXPECT_THAT([&] { LoraAdapter::load(*other, dir.file("adapter")); },
              ThrowsMessage<Error>(HasSubstr("was trained on other base weights")));
  // Another shape.
  ModelConfig wide = tiny_config();
  wide.hidden_size = 64;
  Transformer wider(wide);
  EXPECT_THAT([&] { LoraAdapter::load(*wider, dir.file("adapter")); },
              ThrowsMessage<Error>(HasSubstr("the adapter was made for another base model")));
  // Another depth: a layer the model lacks.
  ModelConfig shallow = tiny_config();
  shallow.num_hidden_layers = 1;
  Transformer shallower(shallow);
  EXPECT_THAT([&] { LoraAdapter::load(*shallower, dir.file("adapter")); },
              ThrowsMessage<Error>(HasSubstr("adapts 'model.layers.1.self_attn.q_proj', which this model does not have")));
  // Not plain LoRA.
  nlohmann::json config = nlohmann::json::parse(read_file(dir.file("adapter/adapter_config.json")));
  config["use_dora"] = true;
  write_file_atomic(dir.file("adapter/adapter_config.json"), config.dump());
  Transformer same = random_model(1);
  EXPECT_THAT([&] { LoraAdapter::load(*same, dir.file("adapter")); },
              ThrowsMessage<Error>(HasSubstr("\"use_dora\" is set")));
  config["use_dora"] = false;
  config["peft_type"] = "IA3";
  write_file_atomic(dir.file("adapter/adapter_config.json"), config.dump());
  EXPECT_THAT([&] { LoraAdapter::load(*same, dir.file("adapter")); },
              ThrowsMessage<Error>(HasSubstr("peft_type must be \"LORA\", got \"IA3\"")));
  EXPECT_THAT([&] { LoraAdapter::load(*same, dir.file("nothing")); },
              ThrowsMessage<Error>(HasSubstr("missing: an adapter folder holds adapter_config.json")));
}

}  // namespace
}  // namespace sculpt
