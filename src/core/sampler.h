// The token sampler of the drafter and the refiner: one seeded sampler that chains the logit
// filters of core/logit_filters.h (repetition penalty, temperature, top-k, top-p, min-p) as
// SamplerParams (core/sampler_params.h) sets them, and draws from what they leave. Torch-free,
// so the drafter that runs without LibTorch (ar_draft/kernel_drafter.h) samples with it too.
//
//   TokenSampler sampler(params);                       // seeded with params.seed
//   SampledToken t = sampler.sample(logits /*[n_vocab]*/, n_vocab, context);
#pragma once

#include <cstdint>
#include <vector>

#include "core/sampled_token.h"
#include "core/sampler_params.h"
#include "core/sampler_random.h"

namespace sculpt {

class TokenSampler {
 public:
  // Checks params (SamplerParams::validate) and seeds the random stream with params.seed.
  explicit TokenSampler(const SamplerParams& params);

  // Draws one token from one row of logits [n_vocab] (float or double), with `context` the ids
  // the repetition penalty applies to. Temperature 0 takes the argmax of the penalized logits
  // (first index on ties, greedy_token of core/sampled_token.h) and draws nothing. Otherwise it
  // applies the filters in the order above and draws from p = softmax of what they leave as
  // at::multinomial(p, 1) did with LibTorch's generator: the first argmax of p_v / q_v, with
  // q_v ~ Exp(1) drawn for every v in order (the exponential race, Gumbel-max in another form),
  // so seeded draws are those LibTorch gives. The token's logprob and entropy are the model's
  // (model_token). Throws sculpt::Error for NaN or +inf logits, a row all -inf or a context id
  // outside the vocabulary.
  template <class T>
  SampledToken sample(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context);

  // The same draw as sample (the same token, the same use of the random stream), without the
  // model's logprob and entropy: for a caller with its own confidence (the refiner).
  template <class T>
  TokenId draw(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context);

  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  SamplerRandom random_;
  std::vector<double> row_;  // the filtered row, reused across tokens
};

}  // namespace sculpt
