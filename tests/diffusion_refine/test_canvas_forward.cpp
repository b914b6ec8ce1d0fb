// The refiner's forward passes against recomputation: every cache's first pass is a full pass,
// a cached pass over an unchanged canvas equals a full pass, and the span cache's later passes
// equal their definition (changing positions attend to the cached positions as they were
// encoded), built independently with an explicit attention pattern. Each holds on both backends
// (the CPU kernels' FastDecoder and LibTorch), and the two compute the same passes after edits.
#include "diffusion_refine/canvas_forward.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/error.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kVocab = 50;
constexpr int64_t kCanvas = 24;

Transformer random_model(AttentionMode attention, LogitsAlignment alignment) {
  ModelConfig c = sculpt::testing::small_model_config(kVocab);
  c.attention = attention;
  c.block_size = attention == AttentionMode::kBlockCausal ? 4 : 0;
  c.logits_alignment = alignment;
  Transformer model(c);
  sculpt::testing::randomise_weights(*model, 5);
  model->eval();
  return model;
}

at::Tensor random_tokens(uint64_t seed) {
  at::manual_seed(seed);
  return at::randint(kVocab, {1, kCanvas}, at::TensorOptions().dtype(at::kLong));
}

// Logits predicting `positions` from one full pass (no cache) over tokens [1, n].
at::Tensor full_logits(TransformerImpl& model, const at::Tensor& tokens, const std::vector<int64_t>& positions,
                       int64_t shift) {
  std::vector<int64_t> rows;
  for (int64_t p : positions) rows.push_back(p - shift);
  return model.forward(tokens).select(0, 0).index_select(0, at::tensor(rows, at::kLong));
}

const std::vector<int64_t> kChanging = {5, 6, 7, 12, 13, 20};  // two spans and a lone position
const DecodeBackend kBackends[] = {DecodeBackend::kAuto, DecodeBackend::kLibTorch};

// A CanvasForward on `backend`, checked to run where asked (kAuto: the kernels, which compute
// these models).
std::unique_ptr<CanvasForward> make_forward(TransformerImpl& model, RefineCache mode, DecodeBackend backend) {
  auto forward = std::make_unique<CanvasForward>(model, kCanvas, mode, backend);
  EXPECT_EQ(forward->on_kernels(), backend == DecodeBackend::kAuto);
  return forward;
}

TEST(CanvasForwardTest, EveryCacheAgreesWithRecomputationWhileTheCanvasIsUnchanged) {
  at::NoGradGuard no_grad;
  for (LogitsAlignment alignment : {LogitsAlignment::kUnshifted, LogitsAlignment::kShifted}) {
    const int64_t shift = alignment == LogitsAlignment::kShifted ? 1 : 0;
    Transformer model = random_model(AttentionMode::kBidirectional, alignment);
    const at::Tensor tokens = random_tokens(1);
    const at::Tensor expected = full_logits(*model, tokens, kChanging, shift);
    for (DecodeBackend backend : kBackends)
      for (RefineCache mode : {RefineCache::kNone, RefineCache::kPrefix, RefineCache::kSpans}) {
        SCOPED_TRACE(::testing::Message() << "mode " << int(mode) << ", backend " << int(backend));
        std::unique_ptr<CanvasForward> forward = make_forward(*model, mode, backend);
        forward->begin_block(/*prefix=*/5 - shift, kChanging);
        for (int pass = 0; pass < 3; ++pass) {  // the full pass, then two from the cache
          const at::Tensor got = forward->logits_at(tokens, kChanging);
          EXPECT_TRUE(at::allclose(got, expected, /*rtol=*/1e-4, /*atol=*/1e-4)) << "pass " << pass;
        }
        EXPECT_EQ(forward->n_forward(), 3);
      }
  }
}

TEST(CanvasForwardTest, SpanCacheRecomputesOnlyTheChangingPositionsAndThoseThatPredictThem) {
  Transformer model = random_model(AttentionMode::kBidirectional, LogitsAlignment::kShifted);
  CanvasForward spans(*model, kCanvas, RefineCache::kSpans);
  spans.begin_block(4, kChanging);
  EXPECT_EQ(spans.n_recomputed(), 9);  // 4..7, 11..13, 19..20
  CanvasForward prefix(*model, kCanvas, RefineCache::kPrefix);
  prefix.begin_block(4, kChanging);
  EXPECT_EQ(prefix.n_recomputed(), kCanvas - 4);
}

// After the span tokens change, a span-cached pass is Fast-dLLM's approximation: the changing
// positions see each other anew but the cached positions as the full pass encoded them. The
// reference runs the old canvas and the new span tokens as one sequence of n + m slots, the new
// ones allowed to attend to the old unchanging slots and to each other only.
TEST(CanvasForwardTest, SpanCacheAfterAnEditMatchesItsDefinition) {
  at::NoGradGuard no_grad;
  for (LogitsAlignment alignment : {LogitsAlignment::kUnshifted, LogitsAlignment::kShifted}) {
    const int64_t shift = alignment == LogitsAlignment::kShifted ? 1 : 0;
    Transformer model = random_model(AttentionMode::kBidirectional, alignment);
    const at::Tensor old_tokens = random_tokens(2);
    at::Tensor new_tokens = old_tokens.clone();
    for (int64_t p : kChanging) new_tokens[0][p] = (old_tokens[0][p].item<int64_t>() + 7) % kVocab;

    for (DecodeBackend backend : kBackends) {
    SCOPED_TRACE(::testing::Message() << "backend " << int(backend));
    std::unique_ptr<CanvasForward> forward = make_forward(*model, RefineCache::kSpans, backend);
    forward->begin_block(0, kChanging);
    forward->logits_at(old_tokens, kChanging);
    const at::Tensor got = forward->logits_at(new_tokens, kChanging);

    std::vector<uint8_t> recomputed(kCanvas, 0);
    for (int64_t p : kChanging) recomputed[size_t(p)] = recomputed[size_t(std::max<int64_t>(p - shift, 0))] = 1;
    std::vector<int64_t> run;
    for (int64_t i = 0; i < kCanvas; ++i) if (recomputed[size_t(i)]) run.push_back(i);
    const int64_t m = int64_t(run.size()), total = kCanvas + m;
    const at::Tensor run_t = at::tensor(run, at::kLong);
    at::Tensor seq = at::cat({old_tokens, new_tokens.index_select(1, run_t)}, 1);
    at::Tensor positions = at::cat({at::arange(kCanvas, at::kLong), run_t}).unsqueeze(0);
    at::Tensor allowed = at::zeros({total, total}, at::kBool);
    allowed.narrow(0, 0, kCanvas).narrow(1, 0, kCanvas).fill_(true);  // the old canvas, as encoded
    for (int64_t q = kCanvas; q < total; ++q) {
      for (int64_t k = 0; k < kCanvas; ++k) allowed[q][k] = !recomputed[size_t(k)];
      allowed.narrow(1, kCanvas, m)[q].fill_(true);
    }
    ForwardArgs args;
    args.positions = positions;
    args.attention_mask = allowed;
    const at::Tensor hidden = model->hidden_states(seq, args).select(0, 0);
    std::vector<int64_t> rows;
    for (int64_t p : kChanging)
      rows.push_back(kCanvas + (std::find(run.begin(), run.end(), p - shift) - run.begin()));
    const at::Tensor expected = model->logits(hidden.index_select(0, at::tensor(rows, at::kLong)));
    EXPECT_TRUE(at::allclose(got, expected, 1e-4, 1e-4)) << (got - expected).abs().max().item<float>();
    // ... and is not the exact recomputation (the test would be empty if it were).
    EXPECT_FALSE(at::allclose(got, full_logits(*model, new_tokens, kChanging, shift), 1e-3, 1e-3));
    // refresh() makes the next pass exact again.
    forward->refresh();
    EXPECT_TRUE(at::allclose(forward->logits_at(new_tokens, kChanging), full_logits(*model, new_tokens, kChanging, shift),
                             1e-4, 1e-4));
    }
  }
}

// The prefix cache after an edit is an approximation too (the prefix keeps what it encoded
// before): the kernels and LibTorch must make the same one, pass after pass, in every mode and
// under causal attention as well.
TEST(CanvasForwardTest, KernelsAndLibTorchComputeTheSamePassesAfterEdits) {
  at::NoGradGuard no_grad;
  for (AttentionMode attention : {AttentionMode::kBidirectional, AttentionMode::kCausal})
    for (RefineCache mode : {RefineCache::kNone, RefineCache::kPrefix, RefineCache::kSpans}) {
      if (mode == RefineCache::kSpans && attention != AttentionMode::kBidirectional) continue;
      SCOPED_TRACE(::testing::Message() << "mode " << int(mode) << ", attention " << int(attention));
      Transformer model = random_model(attention, LogitsAlignment::kShifted);
      std::unique_ptr<CanvasForward> kernels = make_forward(*model, mode, DecodeBackend::kAuto);
      std::unique_ptr<CanvasForward> libtorch = make_forward(*model, mode, DecodeBackend::kLibTorch);
      at::Tensor tokens = random_tokens(4);
      for (CanvasForward* f : {kernels.get(), libtorch.get()}) f->begin_block(/*prefix=*/4, kChanging);
      for (int pass = 0; pass < 4; ++pass) {
        const at::Tensor a = kernels->logits_at(tokens, kChanging), b = libtorch->logits_at(tokens, kChanging);
        EXPECT_LT((a - b).abs().max().item<float>(), 1e-4) << "pass " << pass;
        tokens[0][kChanging[size_t(pass)]] = (tokens[0][kChanging[size_t(pass)]].item<int64_t>() + 3) % kVocab;
      }
    }
}

TEST(CanvasForwardTest, SpanCacheRefusesMaskedAttentionAndUndeclaredPositions) {
  Transformer block_causal = random_model(AttentionMode::kBlockCausal, LogitsAlignment::kShifted);
  try {
    CanvasForward forward(*block_causal, kCanvas, RefineCache::kSpans);
    FAIL() << "accepted a block-causal model";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("refine.cache"));
    EXPECT_THAT(e.what(), HasSubstr("bidirectional"));
  }
  Transformer model = random_model(AttentionMode::kBidirectional, LogitsAlignment::kShifted);
  for (DecodeBackend backend : kBackends) {
    std::unique_ptr<CanvasForward> forward = make_forward(*model, RefineCache::kSpans, backend);
    forward->begin_block(0, kChanging);
    EXPECT_THROW(forward->logits_at(random_tokens(3), {kCanvas - 1}), Error);
  }
}

}  // namespace
}  // namespace sculpt
