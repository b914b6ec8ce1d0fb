// The masked-diffusion objective: the forward process, the 1/t-weighted bound against its
// formula, and the block-causal two-stream attention against a direct block-causal pass.
#include "train/masked_diffusion.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/transformer.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// A small block-causal model config (blocks of 4, vocabulary 40 with [MASK] = 39).
ModelConfig block_causal_config(LogitsAlignment alignment) {
  ModelConfig c = sculpt::testing::small_model_config(40);
  c.attention = AttentionMode::kBlockCausal;
  c.block_size = 4;
  c.logits_alignment = alignment;
  c.mask_token_id = 39;
  return c;
}

TEST(MaskNoiseTest, MasksEachSequenceAtItsOwnRate) {
  MaskedDiffusionParams p;
  at::Generator gen = generator(3);
  at::Tensor tokens = at::randint(4, 50, {8, 4000}, at::kLong);
  NoisedBatch nb = add_mask_noise(tokens, /*mask_id=*/3, /*n_vocab=*/50, LogitsAlignment::kUnshifted, p, gen);
  for (int64_t b = 0; b < 8; ++b) {
    const double t = nb.t[b].item<double>();
    const double rate = nb.masked[b].to(at::kDouble).mean().item<double>();
    EXPECT_GE(t, p.eps);
    EXPECT_LT(t, 1.0);
    // Binomial(4000, t): 5 standard deviations.
    EXPECT_NEAR(rate, t, 5 * std::sqrt(t * (1 - t) / 4000) + 1e-9) << "row " << b;
  }
  EXPECT_TRUE(at::equal(nb.inputs.masked_select(nb.masked), at::full({nb.masked.sum().item<int64_t>()}, 3, at::kLong)));
  EXPECT_TRUE(at::equal(nb.inputs.masked_select(nb.visible), tokens.masked_select(nb.visible)));  // no visible noise
}

TEST(MaskNoiseTest, PromptsAndShiftedPositionZeroAreNeverMasked) {
  MaskedDiffusionParams p;
  p.prompt_prob = 1.0;
  p.max_prompt_fraction = 0.5;
  p.eps = 0.49;  // high masking rates
  at::Generator gen = generator(5);
  at::Tensor tokens = at::randint(4, 50, {64, 20}, at::kLong);
  NoisedBatch nb = add_mask_noise(tokens, 3, 50, LogitsAlignment::kShifted, p, gen);
  for (int64_t b = 0; b < 64; ++b) {
    const int64_t n_maskable = int64_t(nb.n_maskable[b].item<float>());
    EXPECT_GE(n_maskable, 10);  // a prompt of at most 10 tokens
    EXPECT_LE(n_maskable, 19);  // at least 1 prompt token (and position 0 under shift)
    EXPECT_FALSE(nb.masked[b].narrow(0, 0, 20 - n_maskable).any().item<bool>()) << "row " << b;
    EXPECT_FALSE(nb.visible[b].narrow(0, 0, 20 - n_maskable).any().item<bool>()) << "row " << b;
  }
}

TEST(MaskNoiseTest, VisibleNoiseReplacesVisibleTokensButNeverWithTheMask) {
  MaskedDiffusionParams p;
  p.visible_noise = 0.5;
  at::Generator gen = generator(9);
  at::Tensor tokens = at::full({4, 2000}, 7, at::kLong);
  NoisedBatch nb = add_mask_noise(tokens, /*mask_id=*/3, /*n_vocab=*/10, LogitsAlignment::kUnshifted, p, gen);
  at::Tensor visible_inputs = nb.inputs.masked_select(nb.visible);
  const double replaced = (visible_inputs != 7).to(at::kDouble).mean().item<double>();
  // Replacement draws uniformly from the 9 non-mask ids, one of which is the token itself.
  EXPECT_NEAR(replaced, 0.5 * 8.0 / 9.0, 0.03);
  EXPECT_FALSE((visible_inputs == 3).any().item<bool>());
}

TEST(MaskedDiffusionLossTest, MatchesTheWeightedBoundByHand) {
  // Two sequences of 3 tokens over a vocabulary of 4.
  at::Tensor logits = at::tensor({0.1f, 0.2f, 0.3f, 0.4f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 0.0f, 0.0f,
                                  0.5f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f, 3.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f})
                          .view({2, 3, 4});
  at::Tensor tokens = at::tensor({3, 0, 1, 1, 2, 0}, at::kLong).view({2, 3});
  NoisedBatch nb;
  nb.masked = at::tensor({1, 0, 1, 0, 1, 0}, at::kLong).view({2, 3}).to(at::kBool);
  nb.visible = at::tensor({0, 1, 0, 1, 0, 1}, at::kLong).view({2, 3}).to(at::kBool);
  nb.t = at::tensor({0.5f, 0.25f});
  nb.n_maskable = at::tensor({3.0f, 3.0f});
  auto ce = [&](int b, int i) {
    at::Tensor row = logits[b][i];
    return -(row[tokens[b][i].item<int64_t>()] - at::logsumexp(row, 0)).item<double>();
  };
  const double row0 = (ce(0, 0) + ce(0, 2)) / 0.5 / 3, row1 = ce(1, 1) / 0.25 / 3;
  const double visible = (ce(0, 1) + (ce(1, 0) + ce(1, 2)) / 2) / 2;  // per sequence, then over sequences
  MaskedDiffusionLoss l = masked_diffusion_loss_from_logits(logits, tokens, nb, /*score_visible=*/true);
  EXPECT_NEAR(l.elbo.item<double>(), (row0 + row1) / 2, 1e-6);
  EXPECT_NEAR(l.visible.item<double>(), visible, 1e-6);
  EXPECT_NEAR(l.total.item<double>(), (row0 + row1) / 2 + visible, 1e-6);
  EXPECT_NEAR(masked_diffusion_loss_from_logits(logits, tokens, nb, false).total.item<double>(), (row0 + row1) / 2, 1e-6);
}

TEST(BlockDiffusionAttentionTest, NoisyBlocksSeeThemselvesAndEarlierCleanBlocks) {
  // L = 4, blocks of 2: rows are queries [noisy 0..3, clean 0..3], columns keys likewise.
  const std::vector<std::vector<int>> expected = {
      {1, 1, 0, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0}, {0, 0, 1, 1, 1, 1, 0, 0}, {0, 0, 1, 1, 1, 1, 0, 0},
      {0, 0, 0, 0, 1, 1, 0, 0}, {0, 0, 0, 0, 1, 1, 0, 0}, {0, 0, 0, 0, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 1, 1}};
  at::Tensor mask = block_diffusion_attention(4, 2);
  ASSERT_EQ(mask.sizes(), at::IntArrayRef({8, 8}));
  for (int q = 0; q < 8; ++q)
    for (int k = 0; k < 8; ++k) EXPECT_EQ(mask[q][k].item<bool>(), bool(expected[q][k])) << q << "," << k;
}

// The two-stream pass gives each noisy block the hidden states a plain block-causal pass gives
// it when the blocks before it are clean: training sees exactly what inference will.
TEST(BlockDiffusionAttentionTest, TwoStreamPassEqualsBlockCausalPassOverCleanPrefix) {
  const ModelConfig c = block_causal_config(LogitsAlignment::kUnshifted);
  at::manual_seed(2);
  Transformer model(c);
  at::NoGradGuard no_grad;
  const int64_t L = 12;
  at::Tensor clean = at::randint(0, 39, {1, L}, at::kLong);
  at::Tensor noisy = clean.clone();
  noisy.index_put_({0, at::tensor({1, 5, 6, 11}, at::kLong)}, 39);
  ForwardArgs two_stream;
  at::Tensor pos = at::arange(L, at::kLong);
  two_stream.positions = at::cat({pos, pos}).unsqueeze(0);
  two_stream.attention_mask = block_diffusion_attention(L, 4);
  at::Tensor h = model->hidden_states(at::cat({noisy, clean}, 1), two_stream).narrow(1, 0, L);
  double max_diff = 0;
  for (int64_t b = 0; b < L / 4; ++b) {
    at::Tensor seq = at::cat({clean.narrow(1, 0, b * 4), noisy.narrow(1, b * 4, 4)}, 1);
    at::Tensor direct = model->hidden_states(seq).narrow(1, b * 4, 4);
    max_diff = std::max(max_diff, (direct - h.narrow(1, b * 4, 4)).abs().max().item<double>());
  }
  std::printf("max |two-stream - block-causal| = %g\n", max_diff);
  EXPECT_LT(max_diff, 1e-5);
}

// Block-causal with shifted logits (Fast-dLLM v2): token i is predicted at i - 1 inside its
// noisy block, and the first token of a block at the last position of the clean block before
// it. The loss of the two-stream pass equals the one computed from direct block-causal passes
// over [clean prefix ; noisy block], one per block.
TEST(MaskedDiffusionLossTest, ShiftedBlockCausalLossEqualsDirectPassesPerBlock) {
  const ModelConfig c = block_causal_config(LogitsAlignment::kShifted);
  at::manual_seed(4);
  Transformer model(c);
  at::NoGradGuard no_grad;
  const int64_t b = 3, L = 12, B = 4;
  at::Tensor clean = at::randint(0, 39, {b, L}, at::kLong);
  MaskedDiffusionParams p;
  p.visible_noise = 0.2;
  at::Generator gen = generator(8);
  const MaskedDiffusionLoss two_stream = masked_diffusion_loss(*model, clean, p, gen);

  at::Generator same = generator(8);  // the same draw of the forward process
  const NoisedBatch nb = add_mask_noise(clean, c.mask_token_id, c.vocab_size, c.logits_alignment, p, same);
  at::Tensor logits = at::zeros({b, L - 1, c.vocab_size});  // row i - 1 predicts token i
  for (int64_t blk = 0; blk < L / B; ++blk) {
    at::Tensor seq = at::cat({clean.narrow(1, 0, blk * B), nb.inputs.narrow(1, blk * B, B)}, 1);
    at::Tensor direct = model->forward(seq);  // [b, (blk + 1) * B, V]
    for (int64_t i = std::max<int64_t>(1, blk * B); i < (blk + 1) * B; ++i) logits.select(1, i - 1).copy_(direct.select(1, i - 1));
  }
  NoisedBatch tail = nb;
  tail.masked = nb.masked.narrow(1, 1, L - 1);
  tail.visible = nb.visible.narrow(1, 1, L - 1);
  const MaskedDiffusionLoss direct = masked_diffusion_loss_from_logits(logits, clean.narrow(1, 1, L - 1), tail, true);
  std::printf("elbo two-stream %.6f, direct %.6f; visible %.6f, %.6f\n", two_stream.elbo.item<double>(),
              direct.elbo.item<double>(), two_stream.visible.item<double>(), direct.visible.item<double>());
  EXPECT_NEAR(two_stream.elbo.item<double>(), direct.elbo.item<double>(), 1e-5);
  EXPECT_NEAR(two_stream.visible.item<double>(), direct.visible.item<double>(), 1e-5);
  EXPECT_GT(nb.masked.sum().item<int64_t>(), 0);
}

TEST(MaskedDiffusionLossTest, RefusesModelsItCannotTrain) {
  ModelConfig c;
  c.mask_token_id = -1;
  c.attention = AttentionMode::kBidirectional;
  EXPECT_THAT([&] { check_masked_diffusion_model(c, c.mask_token_id, "m"); }, ::testing::ThrowsMessage<Error>(::testing::HasSubstr("mask token")));
  c.mask_token_id = 3;
  c.attention = AttentionMode::kCausal;
  EXPECT_THAT([&] { check_masked_diffusion_model(c, c.mask_token_id, "m"); }, ::testing::ThrowsMessage<Error>(::testing::HasSubstr("bidirectional or block_causal")));
  c.attention = AttentionMode::kBlockCausal;
  c.block_size = 4;
  c.logits_alignment = LogitsAlignment::kShifted;  // Fast-dLLM v2's layout is trainable
  EXPECT_NO_THROW(check_masked_diffusion_model(c, c.mask_token_id, "m"));
}

}  // namespace
}  // namespace sculpt
