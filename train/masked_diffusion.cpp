// The masked-diffusion objective: forward noising, the 1/t-weighted bound, block-causal training.
#include "train/masked_diffusion.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "core/transformer.h"

namespace sculpt {

NoisedBatch add_mask_noise(const at::Tensor& tokens, int64_t mask_id, int64_t n_vocab, LogitsAlignment alignment,
                           const MaskedDiffusionParams& p, at::Generator& gen) {
  if (tokens.dim() != 2 || tokens.size(1) < 2) fail("masked diffusion", "tokens must be [batch, L >= 2], got ", tokens.sizes());
  const int64_t b = tokens.size(0), L = tokens.size(1);
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  auto i64 = at::TensorOptions().dtype(at::kLong);
  NoisedBatch out;
  out.t = p.eps + (1.0 - p.eps) * at::rand({b}, gen, f32);  // [b]

  // First maskable position of each row: 1 under shifted alignment, past the prompt if any.
  at::Tensor first = at::full({b}, alignment == LogitsAlignment::kShifted ? 1 : 0, i64);  // [b]
  const int64_t max_prompt = std::min<int64_t>(L - 1, int64_t(p.max_prompt_fraction * double(L)));
  if (p.prompt_prob > 0 && max_prompt >= 1) {
    at::Tensor has_prompt = at::rand({b}, gen, f32) < p.prompt_prob;
    at::Tensor prompt_len = at::randint(1, max_prompt + 1, {b}, gen, i64);
    first = at::where(has_prompt, at::maximum(first, prompt_len), first);
  }
  at::Tensor maskable = at::arange(L, i64).unsqueeze(0) >= first.unsqueeze(1);  // [b, L]
  out.n_maskable = maskable.sum(/*dim=*/1).to(at::kFloat);
  out.masked = at::logical_and(at::rand({b, L}, gen, f32) < out.t.unsqueeze(1), maskable);
  out.visible = at::logical_and(maskable, out.masked.logical_not());

  out.inputs = tokens.clone();
  if (p.visible_noise > 0) {
    at::Tensor replace = at::logical_and(out.visible, at::rand({b, L}, gen, f32) < p.visible_noise);
    at::Tensor random = at::randint(0, n_vocab - 1, {b, L}, gen, i64);
    random = random + (random >= mask_id).to(at::kLong);  // uniform over the vocabulary minus [MASK]
    out.inputs = at::where(replace, random, out.inputs);
  }
  out.inputs.masked_fill_(out.masked, mask_id);
  return out;
}

MaskedDiffusionLoss masked_diffusion_loss_from_logits(const at::Tensor& logits, const at::Tensor& tokens,
                                                      const NoisedBatch& noised, bool score_visible) {
  const int64_t b = tokens.size(0), L = tokens.size(1), n_vocab = logits.size(-1);
  at::Tensor ce = at::cross_entropy_loss(logits.reshape({-1, n_vocab}), tokens.reshape({-1}), /*weight=*/{},
                                         at::Reduction::None)
                      .view({b, L});  // [b, L]
  MaskedDiffusionLoss out;
  at::Tensor per_row = (ce * noised.masked.to(at::kFloat)).sum(/*dim=*/1) / noised.t / noised.n_maskable.clamp_min(1);
  out.elbo = per_row.mean();
  out.total = out.elbo;
  // Per sequence, then averaged over sequences like the bound, so that the loss of a batch is
  // the mean of its rows' losses and data-parallel ranks holding different rows agree with one
  // process holding them all.
  const at::Tensor visible = noised.visible.to(at::kFloat);
  const at::Tensor n_visible = visible.sum(/*dim=*/1);
  if (n_visible.sum().item<double>() > 0) {
    out.visible = ((ce * visible).sum(/*dim=*/1) / n_visible.clamp_min(1)).mean();
    if (score_visible) out.total = out.total + out.visible;
  }
  return out;
}

at::Tensor block_diffusion_attention(int64_t L, int64_t block_size) {
  if (block_size <= 0) fail("block diffusion", "block_size must be positive, got ", block_size);
  at::Tensor block = at::floor_divide(at::arange(L, at::TensorOptions().dtype(at::kLong)), block_size);
  at::Tensor q = block.unsqueeze(1), k = block.unsqueeze(0);  // [L, 1], [1, L]
  at::Tensor noisy_noisy = q == k;
  at::Tensor noisy_clean = k < q;
  at::Tensor clean_clean = k <= q;
  at::Tensor clean_noisy = at::zeros({L, L}, at::TensorOptions().dtype(at::kBool));
  return at::cat({at::cat({noisy_noisy, noisy_clean}, /*dim=*/1), at::cat({clean_noisy, clean_clean}, /*dim=*/1)},
                 /*dim=*/0);  // [2L, 2L]
}

NoisedBatch NoisedBatch::rows(int64_t start, int64_t n) const {
  return {inputs.narrow(0, start, n), masked.narrow(0, start, n), visible.narrow(0, start, n), t.narrow(0, start, n),
          n_maskable.narrow(0, start, n)};
}

MaskedDiffusionLoss masked_diffusion_loss(TransformerImpl& model, const at::Tensor& tokens,
                                          const MaskedDiffusionParams& params, at::Generator& gen) {
  const ModelConfig& c = model.config();
  check_masked_diffusion_model(c, c.mask_token_id, "masked diffusion");
  return masked_diffusion_loss(
      model, tokens, add_mask_noise(tokens, c.mask_token_id, c.vocab_size, c.logits_alignment, params, gen), params);
}

MaskedDiffusionLoss masked_diffusion_loss(TransformerImpl& model, const at::Tensor& tokens, const NoisedBatch& noised,
                                          const MaskedDiffusionParams& params) {
  const ModelConfig& c = model.config();
  check_masked_diffusion_model(c, c.mask_token_id, "masked diffusion");
  const int64_t b = tokens.size(0), L = tokens.size(1);

  const bool shifted = c.logits_alignment == LogitsAlignment::kShifted;
  at::Tensor hidden;  // [b, L, hidden]: row i holds the state whose logits predict token i (+1 if shifted)
  if (c.attention == AttentionMode::kBlockCausal) {
    ForwardArgs args;
    at::Tensor pos = at::arange(L, at::TensorOptions().dtype(at::kLong));
    args.positions = at::cat({pos, pos}).unsqueeze(0).expand({b, 2 * L});
    args.attention_mask = block_diffusion_attention(L, c.block_size);
    at::Tensor both = model.hidden_states(at::cat({noised.inputs, tokens}, /*dim=*/1), args);  // [b, 2L, hidden]
    if (!shifted) {
      hidden = both.narrow(1, 0, L);
    } else {
      // Shifted (Fast-dLLM v2): token i is predicted at i - 1 of its own noisy block, except the
      // first token of a block, which is predicted at the last position of the clean block
      // before it, as at inference, where that block is committed and causal attention keeps
      // it blind to the block being denoised. Row L - 1 predicts nothing and is dropped below.
      std::vector<int64_t> rows(static_cast<size_t>(L));
      for (int64_t i = 1; i < L; ++i) rows[size_t(i - 1)] = i % c.block_size == 0 ? L + i - 1 : i - 1;
      rows[size_t(L - 1)] = L - 1;
      hidden = both.index_select(/*dim=*/1, at::tensor(rows, at::TensorOptions().dtype(at::kLong)));
    }
  } else {
    hidden = model.hidden_states(noised.inputs);
  }
  at::Tensor logits = model.logits(hidden);  // [b, L, V]
  const bool score_visible = params.visible_noise > 0;
  if (!shifted) return masked_diffusion_loss_from_logits(logits, tokens, noised, score_visible);
  // Shifted: the logits of row i - 1 predict token i; position 0 is never maskable.
  NoisedBatch tail = noised;
  tail.masked = noised.masked.narrow(1, 1, L - 1);
  tail.visible = noised.visible.narrow(1, 1, L - 1);
  return masked_diffusion_loss_from_logits(logits.narrow(1, 0, L - 1), tokens.narrow(1, 1, L - 1), tail,
                                           score_visible);
}

}  // namespace sculpt
