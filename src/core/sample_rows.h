// The token sampler (core/sampler.h) over a tensor of logits, one token per row: what the
// LibTorch drafter draws with (sample_rows, each token with the model's logprob and entropy)
// and the refiner (draw_rows, the ids alone).
//
//   TokenSampler sampler(params.sampler);
//   std::vector<SampledToken> drawn = sculpt::sample_rows(logits /*[batch, n_vocab]*/, {}, sampler);
#pragma once

#include <ATen/Tensor.h>

#include <vector>

#include "core/sampler.h"

namespace sculpt {

// Draws one token per row of logits [batch, n_vocab] (any floating dtype, taken in double), in
// row order, each row with its own context (context_per_row has one list per row, or is empty:
// no context). Throws sculpt::Error for a wrong rank, a non-floating dtype, a row the sampler
// rejects or context lists that do not match the rows.
std::vector<SampledToken> sample_rows(const at::Tensor& logits,
                                      const std::vector<std::vector<TokenId>>& context_per_row, TokenSampler& sampler);

// The same draws (TokenSampler::draw), the ids alone: no model logprob and entropy per row.
std::vector<TokenId> draw_rows(const at::Tensor& logits, const std::vector<std::vector<TokenId>>& context_per_row,
                               TokenSampler& sampler);

}  // namespace sculpt
