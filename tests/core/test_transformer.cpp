// Transformer numerics against the independent Python reference (tests/reference/), and the
// key/value cache against recomputation.
#include "core/transformer.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using sculpt::testing::run_command;

struct ParityCase {
  const char* name;
  const char* args;  // extra arguments for llama_reference.py
  friend void PrintTo(const ParityCase& c, std::ostream* out) { *out << c.name; }
};

// Weights of std 0.1 (not 0.02) so attention is far from uniform and a wrong rotary convention or
// head mapping moves logits by ~1, far above the tolerance.
const ParityCase kParityCases[] = {
    {"causal_f32", "--init-std 0.1"},
    {"causal_gqa_single_kv_head", "--init-std 0.1 --num-kv-heads 1"},
    {"causal_tied_bias_offset", "--init-std 0.1 --tie-word-embeddings --attention-bias --position-offset 5"},
    {"bidirectional", "--init-std 0.1 --attention bidirectional"},
    {"block_causal", "--init-std 0.1 --attention block_causal --block-size 3"},
    {"causal_f16", "--init-std 0.1 --dtype F16"},
    {"causal_bf16", "--init-std 0.1 --dtype BF16"},
    {"default_std", ""},
    {"mixtral_top2", "--init-std 0.1 --num-experts 4 --experts-per-tok 2"},
    {"mixtral_top1_bidirectional_gqa", "--init-std 0.1 --num-experts 3 --experts-per-tok 1 --attention bidirectional --num-kv-heads 1"},
};

class TransformerParityTest : public ::testing::TestWithParam<ParityCase> {};

at::Tensor load_expected(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.at(name);
  return at::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape, at::kFloat).clone();
}

TEST_P(TransformerParityTest, LogitsMatchReferenceWithin1e4) {
  if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
  sculpt::testing::TempDir temp("sculpt_parity");
  const std::string& dir = temp.path();
  std::string output;
  const std::string cmd = std::string(SCULPT_REFERENCE_PYTHON) + " " SCULPT_SOURCE_DIR
                          "/tests/reference/llama_reference.py --out " + dir + " " + GetParam().args;
  ASSERT_EQ(run_command(cmd, &output), 0) << output;

  Transformer model = load_transformer(dir);
  SafetensorsFile expected = SafetensorsFile::open(dir + "/expected.safetensors");
  at::Tensor tokens = load_expected(expected, "input_ids").to(at::kLong);
  at::Tensor positions = load_expected(expected, "position_ids").to(at::kLong);
  at::Tensor want = load_expected(expected, "logits");
  at::Tensor want_hidden = load_expected(expected, "hidden");

  at::NoGradGuard no_grad;
  ForwardArgs args;
  args.positions = positions;
  at::Tensor hidden = model->hidden_states(tokens, args);
  at::Tensor logits = model->logits(hidden);
  const double diff = (logits - want).abs().max().item<double>();
  const double hidden_diff = (hidden - want_hidden).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  std::printf("[ parity ] %s: max |logit diff| = %.3g (max |logit| %.3g), max |hidden diff| = %.3g\n",
              GetParam().name, diff, scale, hidden_diff);
  EXPECT_LE(diff, 1e-4);
  EXPECT_LE(hidden_diff, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Reference, TransformerParityTest, ::testing::ValuesIn(kParityCases),
                         [](const auto& info) { return std::string(info.param.name); });

ModelConfig tiny_config(AttentionMode mode = AttentionMode::kCausal) {
  ModelConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 128;
  c.attention = mode;
  c.block_size = mode == AttentionMode::kBlockCausal ? 4 : 0;
  return c;
}

void randomize(TransformerImpl& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (auto& p : model.parameters()) p.normal_(0.0, 0.1);
}

TEST(TransformerCacheTest, CachedDecodingMatchesRecomputation) {
  Transformer model(tiny_config());
  randomize(*model, 1);
  at::NoGradGuard no_grad;
  at::manual_seed(2);
  const int64_t n_prompt = 7, n_steps = 40;
  at::Tensor seq = at::randint(0, 50, {2, n_prompt + n_steps}, at::kLong);
  at::Tensor full = model->forward(seq);  // [2, n, vocab]

  KvCache cache(2, /*batch=*/2, /*n_kv_heads=*/2, /*max_len=*/64, /*head_dim=*/8);
  ForwardArgs args;
  args.cache = &cache;
  at::Tensor prefill = model->forward(seq.narrow(1, 0, n_prompt), args);
  double diff = (prefill - full.narrow(1, 0, n_prompt)).abs().max().item<double>();
  for (int64_t t = n_prompt; t < n_prompt + n_steps; ++t) {
    at::Tensor step = model->forward(seq.narrow(1, t, 1), args);
    diff = std::max(diff, (step - full.narrow(1, t, 1)).abs().max().item<double>());
  }
  EXPECT_EQ(cache.length(), n_prompt + n_steps);
  std::printf("[ cache ] max |cached - recomputed| over %lld steps = %.3g\n", (long long)n_steps, diff);
  EXPECT_LE(diff, 1e-4);
}

TEST(TransformerCacheTest, BlockCausalPrefixCacheIsExact) {
  // In block-causal mode a frozen prefix of whole blocks never sees later positions, so its
  // cached keys and values are exactly those of a full pass.
  Transformer model(tiny_config(AttentionMode::kBlockCausal));
  randomize(*model, 3);
  at::NoGradGuard no_grad;
  at::Tensor seq = at::randint(0, 50, {1, 20}, at::kLong);
  at::Tensor full = model->forward(seq);
  KvCache cache(2, 1, 2, 32, 8);
  ForwardArgs args;
  args.cache = &cache;
  model->forward(seq.narrow(1, 0, 12), args);  // three whole blocks of 4
  at::Tensor rest = model->forward(seq.narrow(1, 12, 8), args);
  EXPECT_LE((rest - full.narrow(1, 12, 8)).abs().max().item<double>(), 1e-5);
}

TEST(TransformerMaskTest, CausalIgnoresFutureBidirectionalDoesNot) {
  for (AttentionMode mode : {AttentionMode::kCausal, AttentionMode::kBidirectional, AttentionMode::kBlockCausal}) {
    Transformer model(tiny_config(mode));
    randomize(*model, 4);
    at::NoGradGuard no_grad;
    at::Tensor a = at::randint(0, 50, {1, 12}, at::kLong);
    at::Tensor b = a.clone();
    b[0][11] = (a[0][11].item<int64_t>() + 1) % 50;  // change the last token (block 2 of 4-blocks)
    const double first_diff = (model->forward(a).narrow(1, 0, 1) - model->forward(b).narrow(1, 0, 1)).abs().max().item<double>();
    const double block_diff = (model->forward(a).narrow(1, 8, 1) - model->forward(b).narrow(1, 8, 1)).abs().max().item<double>();
    switch (mode) {
      case AttentionMode::kCausal: EXPECT_EQ(first_diff, 0.0); EXPECT_EQ(block_diff, 0.0); break;
      case AttentionMode::kBidirectional: EXPECT_GT(first_diff, 1e-6); EXPECT_GT(block_diff, 1e-6); break;
      case AttentionMode::kBlockCausal: EXPECT_EQ(first_diff, 0.0); EXPECT_GT(block_diff, 1e-6); break;
    }
  }
}

TEST(TransformerMaskTest, KeyMaskHidesPaddingFromLeftPaddedRows) {
  // A left-padded row with the padding masked out gives the same logits as the unpadded row,
  // with positions counted from its first real token.
  Transformer model(tiny_config());
  randomize(*model, 5);
  at::NoGradGuard no_grad;
  at::Tensor row = at::randint(0, 50, {1, 6}, at::kLong);
  at::Tensor want = model->forward(row);
  at::Tensor padded = at::cat({at::zeros({1, 3}, at::kLong), row}, 1);
  ForwardArgs args;
  args.positions = at::cat({at::zeros({1, 3}, at::kLong), at::arange(6, at::kLong).unsqueeze(0)}, 1);
  args.key_mask = at::cat({at::zeros({1, 3}, at::kBool), at::ones({1, 6}, at::kBool)}, 1);
  at::Tensor got = model->forward(padded, args).narrow(1, 3, 6);
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-5);
}

TEST(TransformerDropoutTest, ActsOnlyWhileTrainingAndOnlyWhenSet) {
  Transformer model(tiny_config());
  randomize(*model, 6);
  at::NoGradGuard no_grad;
  at::Tensor seq = at::randint(0, 50, {2, 16}, at::kLong);
  model->eval();
  const at::Tensor want = model->forward(seq);

  model->train();  // rate 0: training mode computes exactly the eval pass
  EXPECT_TRUE(at::equal(model->forward(seq), want));

  model->set_dropout(0.3);
  model->eval();  // eval mode ignores the rate
  EXPECT_TRUE(at::equal(model->forward(seq), want));

  model->train();  // training mode drops, reproducibly under one seed, differently under another
  at::manual_seed(7);
  const at::Tensor a = model->forward(seq);
  at::manual_seed(7);
  EXPECT_TRUE(at::equal(model->forward(seq), a));
  at::manual_seed(8);
  EXPECT_FALSE(at::equal(model->forward(seq), a));
  EXPECT_GT((a - want).abs().max().item<double>(), 1e-3);

  model->set_dropout(0.0);
  EXPECT_TRUE(at::equal(model->forward(seq), want));
  EXPECT_THROW(model->set_dropout(1.0), Error);
  EXPECT_THROW(model->set_dropout(-0.1), Error);
}

TEST(TransformerErrorsTest, RefusesBadInputs) {
  Transformer model(tiny_config());
  at::NoGradGuard no_grad;
  EXPECT_THROW(model->forward(at::full({1, 3}, 50, at::kLong)), Error);        // id outside the vocabulary
  EXPECT_THROW(model->forward(at::zeros({3}, at::kLong)), Error);              // not [batch, seq]
  ForwardArgs args;
  args.positions = at::full({1, 2}, 128, at::kLong);                           // past the context
  EXPECT_THROW(model->forward(at::zeros({1, 2}, at::kLong), args), Error);
  KvCache cache(2, 1, 2, 4, 8);
  args = {};
  args.cache = &cache;
  EXPECT_THROW(model->forward(at::zeros({1, 5}, at::kLong), args), Error);     // past the cache
}

TEST(RopeTest, FrequenciesOfRopeAndOfLlama3ByHand) {
  // head_dim 8, theta 1e4: 1, 0.1, 0.01, 0.001 (wavelengths 2 pi / f: 6.3, 62.8, 628, 6283).
  EXPECT_THAT(rope_inverse_frequencies(8, 1e4), ::testing::Pointwise(::testing::DoubleNear(1e-15), std::vector<double>{1.0, 0.1, 0.01, 0.001}));
  // Llama 3 with factor 8, low 1, high 4, original context 64: waves shorter than 64 / 4 = 16 are
  // kept, longer than 64 / 1 = 64 divided by 8, and 62.8 lies between: s = (64 / 62.83 - 1) / 3,
  // f = (1 - s) 0.1 / 8 + s 0.1 = 0.0125 + s 0.0875.
  RopeScaling llama3{RopeScalingType::kLlama3, /*factor=*/8, /*low_freq_factor=*/1, /*high_freq_factor=*/4,
                     /*original_max_position_embeddings=*/64};
  EXPECT_THAT(rope_inverse_frequencies(8, 1e4, llama3),
              ::testing::Pointwise(::testing::DoubleNear(1e-12), std::vector<double>{1.0, 0.013042256043820, 0.00125, 0.000125}));
}

TEST(TransformerTest, ParameterNamesAreHuggingFaceNames) {
  Transformer model(tiny_config());
  auto params = model->named_parameters();
  for (const char* name : {"model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                           "model.layers.0.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                           "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"})
    EXPECT_TRUE(params.contains(name)) << name;
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  EXPECT_EQ(n, model->config().n_params());
}

}  // namespace
}  // namespace sculpt
