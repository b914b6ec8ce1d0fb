// The masked-diffusion training objective (MDLM, Sahoo et al. 2024, eq. 10; LLaDA, Nie et al.
// 2025, eq. 3): per sequence draw a masking rate t ~ U(eps, 1), replace each token by [MASK]
// with probability t, and score the model's predictions at the masked positions with
// cross-entropy weighted by 1/t, which bounds the negative log-likelihood from above.
//
//   at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
//   MaskedDiffusionLoss l = masked_diffusion_loss(*model, tokens /*[b, L]*/, params, gen);
//   l.total.backward();
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/Tensor.h>

#include <cstdint>

#include "core/model_config.h"
#include "core/transformer_fwd.h"
#include "train/train_params.h"

namespace sculpt {

// x_t for a batch of clean sequences, and which positions count for the loss.
struct NoisedBatch {
  at::Tensor inputs;      // int64 [b, L]: x_t, with [MASK] and (visible_noise) random tokens
  at::Tensor masked;      // bool [b, L]: positions replaced by [MASK]
  at::Tensor visible;     // bool [b, L]: maskable positions left visible (maybe replaced)
  at::Tensor t;           // float [b]: each sequence's masking rate
  at::Tensor n_maskable;  // float [b]: positions that could be masked (not prompt, not position 0 when shifted)

  // Sequences start .. start + n - 1 (a data-parallel rank's share of a batch noised whole).
  NoisedBatch rows(int64_t start, int64_t n) const;
};

// Draws the forward process q(x_t | x_0) for tokens int64 [b, L]. Position 0 is never masked
// under shifted alignment (no position predicts it). Replacement tokens avoid mask_id.
NoisedBatch add_mask_noise(const at::Tensor& tokens, int64_t mask_id, int64_t n_vocab, LogitsAlignment alignment,
                           const MaskedDiffusionParams& params, at::Generator& gen);

struct MaskedDiffusionLoss {
  at::Tensor total;  // the optimised scalar: elbo (+ visible, when visible_noise > 0)
  at::Tensor elbo;   // mean over sequences of sum_masked CE / t / n_maskable: the MDLM bound per token
  // Mean over sequences of each one's mean CE at its visible positions (a sequence with none
  // adds 0); undefined when the batch has none.
  at::Tensor visible;
};

// The loss from logits already aligned with their targets: logits [b, L, V] where row i
// predicts tokens[:, i]. Pure; tested against the formula.
MaskedDiffusionLoss masked_diffusion_loss_from_logits(const at::Tensor& logits, const at::Tensor& tokens,
                                                      const NoisedBatch& noised, bool score_visible);

// Bool [2L, 2L] attention pattern of block-causal training over [x_t ; x_0] (BD3-LM, Arriola
// et al. 2025): a noisy block sees itself and the clean blocks before it; a clean block sees
// the clean blocks up to itself. So each block is denoised given an exact clean prefix, as at
// inference, where earlier blocks are committed and cached.
at::Tensor block_diffusion_attention(int64_t seq_len, int64_t block_size);

// Noise, forward pass (bidirectional, or the two-stream block-causal pass) and loss for tokens
// int64 [b, L] under `model`'s attention and logits alignment. Throws Error for a model
// without a mask token or with causal attention.
MaskedDiffusionLoss masked_diffusion_loss(TransformerImpl& model, const at::Tensor& tokens,
                                          const MaskedDiffusionParams& params, at::Generator& gen);
// The same from noise already drawn (add_mask_noise with the model's mask id, vocabulary and
// alignment) for these tokens.
MaskedDiffusionLoss masked_diffusion_loss(TransformerImpl& model, const at::Tensor& tokens, const NoisedBatch& noised,
                                          const MaskedDiffusionParams& params);

}  // namespace sculpt
