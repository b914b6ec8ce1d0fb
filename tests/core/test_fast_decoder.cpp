// The CPU kernels' forward pass (kernels/fast_decoder.h) against LibTorch's TransformerImpl,
// which computes the same model from the same weights: logits after a prefill and after each
// decoded token, with left padding, grouped-query attention, Llama 3 rotary scaling, Qwen2's
// biases and Qwen3's q/k norms; a refiner's bidirectional passes (every token's logits, slots in
// any order, a kept prefix); and greedy drafting with the shipped drafter, token for token.
// ctest runs this file once per CPU level this machine has (SCULPT_CPU=portable, avx2, avx512).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>

#include "ar_draft/drafter.h"
#include "core/checkpoint.h"
#include "core/fast_decoder_weights.h"
#include "core/kv_cache.h"
#include "core/tokenizer_files.h"
#include "core/transformer.h"
#include "kernels/kernels.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

ModelConfig small_config(const std::string& model_type) {
  ModelConfig c;
  c.model_type = model_type;
  c.vocab_size = 97;
  c.hidden_size = 48;
  c.intermediate_size = 76;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 160;
  c.rope_theta = 500.0;
  return c;
}

// A random model whose norms are not all ones (they start as ones), in eval mode.
Transformer random_model(const ModelConfig& c, uint64_t seed) {
  at::manual_seed(int64_t(seed));
  Transformer model(c);
  at::NoGradGuard no_grad;
  for (auto& p : model->named_parameters())
    if (p.key().find("norm") != std::string::npos) p.value().uniform_(0.5, 1.5);
    else if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.5, 0.5);
  model->eval();
  return model;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Rows of different lengths, left-padded: a prefill of the padded prompts, then `steps` tokens
// one at a time, each compared with LibTorch's full forward pass over the sequence so far.
// Held in at::kChar: Sculpt's int8 format, quantized through a checkpoint; LibTorch then
// dequantizes each matrix as it uses it (the same numbers the kernels compute with).
void check_against_libtorch(const ModelConfig& c, const char* what, at::ScalarType held = at::kFloat) {
  Transformer model = random_model(c, 11);
  if (held == at::kChar) {
    sculpt::testing::TempDir temp("sculpt_int8");
    save_transformer(*model, temp.file("m"), DType::kI8);
    model = load_transformer(temp.file("m"), {}, WeightsDType::kCheckpoint);
    ASSERT_EQ(model->named_parameters()["model.layers.0.mlp.up_proj.weight"].scalar_type(), at::kChar);
  }
  if (held != at::kChar) model->to(held);  // LibTorch widens float16 / bfloat16 weights as it uses them
  std::string why;
  std::optional<FastDecoderModel> fast = fast_decoder_model(*model, &why);
  ASSERT_TRUE(fast.has_value()) << what << ": " << why;
  const int64_t batch = 3, n_prompt = 70, steps = 6, capacity = n_prompt + steps;
  const int64_t pads[batch] = {0, 5, 69};  // the last row's prompt is one token
  at::Tensor tokens = at::randint(0, c.vocab_size, {batch, capacity}, at::kLong);
  at::Tensor positions = at::zeros({batch, capacity}, at::kLong);
  at::Tensor valid = at::ones({batch, capacity}, at::kBool);
  for (int64_t r = 0; r < batch; ++r) {
    valid[r].narrow(0, 0, pads[r]).fill_(false);
    positions[r].narrow(0, pads[r], capacity - pads[r]).copy_(at::arange(capacity - pads[r], at::kLong));
  }
  FastDecoder dec(fast->shape, fast->weights, batch, capacity);
  const at::Tensor valid_bytes = valid.to(at::kByte).contiguous();
  at::Tensor logits = at::empty({batch, c.vocab_size});
  at::NoGradGuard no_grad;
  double worst = 0;
  for (int64_t end = n_prompt; end <= capacity; ++end) {
    const int64_t start = end == n_prompt ? 0 : end - 1;
    const at::Tensor new_tokens = tokens.narrow(1, start, end - start).contiguous();
    const at::Tensor new_positions = positions.narrow(1, start, end - start).contiguous();
    dec.forward(new_tokens.data_ptr<int64_t>(), new_positions.data_ptr<int64_t>(), end - start,
                valid_bytes.data_ptr<uint8_t>(), logits.data_ptr<float>());
    ForwardArgs args;
    args.positions = positions.narrow(1, 0, end);
    args.key_mask = valid.narrow(1, 0, end);
    const at::Tensor want = model->forward(tokens.narrow(1, 0, end), args).select(1, end - 1);
    const double diff = max_abs_diff(logits, want);
    worst = std::max(worst, diff);
    ASSERT_LT(diff, 2e-4 * (1.0 + want.abs().max().item<double>())) << what << " after " << end << " tokens";
  }
  ASSERT_EQ(dec.length(), capacity);
  std::printf("%s on %s kernels: max logit difference %.3g over %lld passes\n", what, cpu_level_name(cpu_level()), worst,
              (long long)(steps + 1));
}

TEST(FastDecoderTest, LlamaWithGroupedQueriesMatchesLibTorch) { check_against_libtorch(small_config("llama"), "llama"); }

TEST(FastDecoderTest, Llama3RotaryScalingMatchesLibTorch) {
  ModelConfig c = small_config("llama");
  c.rope_scaling.type = RopeScalingType::kLlama3;
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.original_max_position_embeddings = 32;
  check_against_libtorch(c, "llama3 rope");
}

TEST(FastDecoderTest, Qwen2BiasesMatchLibTorch) {
  ModelConfig c = small_config("qwen2");
  c.attention_bias = true;
  check_against_libtorch(c, "qwen2");
}

TEST(FastDecoderTest, Qwen3NormsAndWideHeadsMatchLibTorch) {
  ModelConfig c = small_config("qwen3");
  c.head_dim = 20;  // heads * head_dim != hidden_size, as in Qwen3
  c.tie_word_embeddings = true;
  check_against_libtorch(c, "qwen3");
}

TEST(FastDecoderTest, Float16WeightsMatchLibTorchWideningThem) {
  check_against_libtorch(small_config("llama"), "llama float16", at::kHalf);
}

TEST(FastDecoderTest, Int8WeightsMatchLibTorchDequantizingThem) {
  check_against_libtorch(small_config("llama"), "llama int8", at::kChar);
  ModelConfig c = small_config("qwen3");
  c.tie_word_embeddings = true;
  c.hidden_size = 40;  // a partial last group of 8 inputs in every matrix that reads the hidden state
  c.num_attention_heads = 4;
  c.head_dim = 20;
  check_against_libtorch(c, "qwen3 int8", at::kChar);
}

TEST(FastDecoderTest, Bfloat16WeightsMatchLibTorchWideningThem) {
  ModelConfig c = small_config("qwen3");
  c.tie_word_embeddings = true;
  check_against_libtorch(c, "qwen3 bfloat16", at::kBFloat16);
}

// A refiner's passes: bidirectional attention over a 70-token canvas with every token's logits;
// the same canvas in shuffled slots with its positions (as the span cache runs it), which must
// give each token the same logits; and the last 30 tokens against the first 40 kept from the
// full pass (the prefix cache), against LibTorch's same cached pass.
TEST(FastDecoderTest, BidirectionalPassesMatchLibTorch) {
  ModelConfig c = small_config("qwen3");
  c.attention = AttentionMode::kBidirectional;
  c.head_dim = 20;
  Transformer model = random_model(c, 12);
  std::optional<FastDecoderModel> fast = fast_decoder_model(*model);
  ASSERT_TRUE(fast);
  const int64_t n = 70, kept = 40;
  FastDecoder dec(fast->shape, fast->weights, 1, n);
  at::NoGradGuard no_grad;
  at::Tensor tokens = at::randint(0, c.vocab_size, {1, n}, at::kLong);
  const at::Tensor want = model->forward(tokens).select(0, 0);  // [n, vocab]
  auto run = [&](const at::Tensor& slots) {  // the canvas positions `slots`, every one's logits
    const at::Tensor t = tokens.select(0, 0).index_select(0, slots).contiguous(), p = slots.contiguous();
    const at::Tensor rows = at::arange(slots.numel(), at::kLong);
    at::Tensor logits = at::empty({slots.numel(), c.vocab_size});
    dec.forward(t.data_ptr<int64_t>(), p.data_ptr<int64_t>(), slots.numel(), nullptr, rows.data_ptr<int64_t>(),
                slots.numel(), logits.data_ptr<float>());
    return logits;
  };
  const double full = max_abs_diff(run(at::arange(n, at::kLong)), want);
  dec.reset();
  const at::Tensor shuffled = at::randperm(n, at::kLong);
  const double reordered = max_abs_diff(run(shuffled), want.index_select(0, shuffled));
  // The prefix cache: a full pass, then the tail rewritten and run against the kept prefix.
  dec.reset();
  run(at::arange(n, at::kLong));
  dec.truncate(kept);
  KvCache cache(c.num_hidden_layers, 1, c.n_kv_heads(), n, c.n_head_dim());
  ForwardArgs args;
  args.cache = &cache;
  model->hidden_states(tokens, args);
  cache.truncate(kept);
  tokens.narrow(1, kept, n - kept).random_(0, c.vocab_size);
  const at::Tensor tail = model->logits(model->hidden_states(tokens.narrow(1, kept, n - kept), args)).select(0, 0);
  const double prefix = max_abs_diff(run(at::arange(kept, n, at::kLong)), tail);
  // The kept prefix made a difference (the check would be empty if the tail saw fresh keys).
  EXPECT_GT(max_abs_diff(tail, model->forward(tokens).select(0, 0).narrow(0, kept, n - kept)), 1e-3);
  const double tol = 2e-4 * (1.0 + want.abs().max().item<double>());
  EXPECT_LT(full, tol);
  EXPECT_LT(reordered, tol);
  EXPECT_LT(prefix, tol);
  std::printf("bidirectional on %s kernels: max logit difference %.3g full, %.3g shuffled, %.3g with a kept prefix\n",
              cpu_level_name(cpu_level()), full, reordered, prefix);
}

// Under runtime.dtype auto, models the kernels compute keep their checkpoint's float16 (the
// shipped drafter and refiner); asking for LibTorch, or for a dtype, gets the usual rule.
TEST(FastDecoderTest, ModelsTheKernelsComputeKeepTheirCheckpointDtypeUnderAuto) {
  for (const char* dir : {SCULPT_SOURCE_DIR "/models/drafter", SCULPT_SOURCE_DIR "/models/refiner"}) {
    SCOPED_TRACE(dir);
    EXPECT_EQ(kernels_weights_dtype(dir, WeightsDType::kAuto, DecodeBackend::kAuto), WeightsDType::kCheckpoint);
    EXPECT_EQ(kernels_weights_dtype(dir, WeightsDType::kAuto, DecodeBackend::kLibTorch), WeightsDType::kAuto);
    EXPECT_EQ(kernels_weights_dtype(dir, WeightsDType::kF32, DecodeBackend::kAuto), WeightsDType::kF32);
  }
  EXPECT_EQ(kernels_weights_dtype("/nonexistent", WeightsDType::kAuto, DecodeBackend::kAuto), WeightsDType::kAuto);
}

TEST(FastDecoderTest, RefusesWhatItDoesNotCompute) {
  std::string why;
  ModelConfig moe = small_config("mixtral");
  moe.num_local_experts = 4;
  EXPECT_FALSE(fast_decoder_model(*random_model(moe, 1), &why));
  EXPECT_NE(why.find("mixture of experts"), std::string::npos) << why;
  ModelConfig block_causal = small_config("llama");
  block_causal.attention = AttentionMode::kBlockCausal;
  block_causal.block_size = 4;
  EXPECT_FALSE(fast_decoder_model(*random_model(block_causal, 1), &why));
  EXPECT_NE(why.find("block"), std::string::npos) << why;
  Transformer wide = random_model(small_config("llama"), 1);
  wide->to(at::kDouble);
  EXPECT_FALSE(fast_decoder_model(*wide, &why));
  EXPECT_NE(why.find("Double"), std::string::npos) << why;
  Transformer training = random_model(small_config("llama"), 1);
  training->train();
  EXPECT_FALSE(fast_decoder_model(*training, &why));
}

TEST(FastDecoderTest, OverflowingTheCacheIsAnError) {
  Transformer model = random_model(small_config("llama"), 2);
  std::optional<FastDecoderModel> fast = fast_decoder_model(*model);
  ASSERT_TRUE(fast);
  FastDecoder dec(fast->shape, fast->weights, 1, 4);
  std::vector<float> logits(97);
  const int64_t tokens[5] = {1, 2, 3, 4, 5}, positions[5] = {0, 1, 2, 3, 4};
  EXPECT_THROW(dec.forward(tokens, positions, 5, nullptr, logits.data()), std::exception);
  const int64_t bad[1] = {97};
  EXPECT_THROW(dec.forward(bad, positions, 1, nullptr, logits.data()), std::exception);
  dec.forward(tokens, positions, 4, nullptr, logits.data());
  EXPECT_THROW(dec.forward(tokens, positions, 1, nullptr, logits.data()), std::exception);
}

// The shipped drafter, greedy: the kernels draft the same tokens as LibTorch, with log-probs and
// entropies within float32 rounding, for two prompts of different lengths in one batch.
TEST(FastDecoderTest, ShippedDrafterDraftsTheSameGreedyTokensAsLibTorch) {
  Drafter drafter = Drafter::load(SCULPT_SOURCE_DIR "/models/drafter", "", WeightsDType::kF32);
  DraftParams params;
  params.max_tokens = 64;
  params.sampler.temperature = 0;
  params.stop_at_eos = false;
  const std::vector<std::string> prompts = {"The jury said that the election", "It was"};
  DraftStats fast_stats, torch_stats;
  const std::vector<DraftResult> fast = drafter.draft(prompts, params, {}, &fast_stats);
  params.backend = DecodeBackend::kLibTorch;
  const std::vector<DraftResult> torch = drafter.draft(prompts, params, {}, &torch_stats);
  EXPECT_TRUE(fast_stats.fast_decoder);
  EXPECT_FALSE(torch_stats.fast_decoder);
  double worst = 0;
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_EQ(fast[r].tokens.size(), 64u);
    ASSERT_EQ(fast[r].tokens.size(), torch[r].tokens.size());
    for (size_t i = 0; i < fast[r].tokens.size(); ++i) {
      ASSERT_EQ(fast[r].tokens[i].id, torch[r].tokens[i].id) << "row " << r << ", token " << i;
      worst = std::max(worst, double(std::fabs(fast[r].tokens[i].logprob - torch[r].tokens[i].logprob)));
      EXPECT_NEAR(fast[r].tokens[i].entropy, torch[r].tokens[i].entropy, 1e-4);
    }
    EXPECT_EQ(fast[r].text, torch[r].text);
  }
  EXPECT_LT(worst, 1e-4);
  std::printf("shipped drafter on %s kernels: 2 x 64 greedy tokens identical, max log-prob difference %.3g\n",
              cpu_level_name(cpu_level()), worst);
}

// The shipped drafter quantized to int8. On the kernels it drafts the same greedy tokens as
// LibTorch dequantizing the same weights. Against float32, teacher-forced on float32's own greedy
// drafts: each token's log-probability moves by less than kLogprobTolerance, and where the
// two models' top tokens differ, float32 itself ranked them within that tolerance (a near tie
// that quantization noise may flip, after which greedy drafts part ways).
TEST(FastDecoderTest, ShippedDrafterInInt8StaysWithinALogprobToleranceOfFloat32) {
  constexpr double kLogprobTolerance = 0.05;  // nats; 0.015 measured
  sculpt::testing::TempDir temp("sculpt_int8_drafter");
  {
    Transformer f32 = load_transformer(SCULPT_SOURCE_DIR "/models/drafter", {}, WeightsDType::kF32);
    save_transformer(*f32, temp.file("int8"), DType::kI8);
    copy_tokenizer_files(SCULPT_SOURCE_DIR "/models/drafter", temp.file("int8"));
  }
  Drafter reference = Drafter::load(SCULPT_SOURCE_DIR "/models/drafter", "", WeightsDType::kF32);
  Drafter int8 = Drafter::load(temp.file("int8"));
  DraftParams params;
  params.max_tokens = 64;
  params.sampler.temperature = 0;
  params.stop_at_eos = false;
  const std::vector<std::string> prompts = {"The jury said that the election", "It was", "Mr. Hawksley"};
  DraftStats stats;
  const std::vector<DraftResult> want = reference.draft(prompts, params);
  const std::vector<DraftResult> fast = int8.draft(prompts, params, {}, &stats);
  EXPECT_TRUE(stats.fast_decoder);
  params.backend = DecodeBackend::kLibTorch;
  const std::vector<DraftResult> torch = int8.draft(prompts, params);
  at::NoGradGuard no_grad;
  double worst = 0, worst_flip = 0;
  int64_t positions = 0, flips = 0;
  size_t same_prefix = 64;
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_EQ(fast[r].tokens.size(), 64u);
    for (size_t i = 0; i < 64; ++i) {
      ASSERT_EQ(fast[r].tokens[i].id, torch[r].tokens[i].id) << "row " << r << ", token " << i;
      EXPECT_NEAR(fast[r].tokens[i].logprob, torch[r].tokens[i].logprob, 1e-4);
    }
    for (size_t i = 0; i < 64; ++i)
      if (fast[r].tokens[i].id != want[r].tokens[i].id) {
        same_prefix = std::min(same_prefix, i);
        break;
      }
    std::vector<int64_t> ids(want[r].prompt_ids.begin(), want[r].prompt_ids.end());
    for (const DraftToken& t : want[r].tokens) ids.push_back(t.id);
    const at::Tensor seq = at::tensor(ids).unsqueeze(0);
    const at::Tensor lp32 = at::log_softmax(reference.model()->forward(seq)[0], -1);
    const at::Tensor lp8 = at::log_softmax(int8.model()->forward(seq)[0], -1);
    for (size_t i = 0; i < 64; ++i) {
      const int64_t at_pos = int64_t(want[r].prompt_ids.size() + i) - 1, token = want[r].tokens[i].id;
      const double diff = std::fabs(lp8[at_pos][token].item<double>() - lp32[at_pos][token].item<double>());
      worst = std::max(worst, diff);
      ASSERT_LT(diff, kLogprobTolerance) << "row " << r << ", token " << i;
      const int64_t top8 = lp8[at_pos].argmax().item<int64_t>();
      ++positions;
      if (top8 != token) {  // float32's top token is `token` (greedy)
        ++flips;
        const double margin = lp32[at_pos][token].item<double>() - lp32[at_pos][top8].item<double>();
        worst_flip = std::max(worst_flip, margin);
        ASSERT_LT(margin, kLogprobTolerance) << "row " << r << ", token " << i;
      }
    }
  }
  std::printf("shipped drafter int8 on %s kernels: greedy drafts equal float32's for their first %zu tokens; "
              "teacher-forced, max log-prob change %.3g, %lld of %lld top tokens differ (float32 margin <= %.3g)\n",
              cpu_level_name(cpu_level()), same_prefix, worst, (long long)flips, (long long)positions, worst_flip);
}

}  // namespace
}  // namespace sculpt
