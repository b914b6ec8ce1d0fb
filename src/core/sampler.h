// The token sampler of the drafter and the refiner: one seeded sampler that chains the logit
// filters of core/logit_filters.h (repetition penalty, temperature, top-k, top-p, min-p) as
// SamplerParams (core/sampler_params.h) sets them.
//
//   SamplerParams params;                                   // in-class defaults
//   at::Generator gen = sculpt::make_sampler_generator(params.seed);
//   auto tokens = sculpt::sample_tokens(logits /*[batch, n_vocab]*/, params, context, gen);
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/logit_filters.h"
#include "core/sampled_token.h"
#include "core/sampler_params.h"

namespace sculpt {

// at::make_generator<at::CPUGeneratorImpl>(seed): the generator sample_tokens draws from.
at::Generator make_sampler_generator(int64_t seed);

// Draws one token per row of logits [batch, n_vocab] (or one row [n_vocab]): applies the
// filters of `params` in the order above, then draws from softmax of the filtered logits with
// at::multinomial and `gen`; temperature 0 takes the argmax of the penalized logits (first
// index on ties, greedy_token of core/sampled_token.h) and draws nothing. Pure apart from advancing `gen`: the same generator state
// gives the same tokens. context_per_row as in apply_repetition_penalty. Throws sculpt::Error
// on invalid params or logits, or a row whose logits are all -inf.
std::vector<SampledToken> sample_tokens(const at::Tensor& logits, const SamplerParams& params,
                                        const std::vector<std::vector<int64_t>>& context_per_row,
                                        at::Generator& gen);

}  // namespace sculpt
