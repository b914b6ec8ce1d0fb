// The drafter's token sampler: one seeded sampler that chains the logit filters of
// core/logit_filters.h (repetition penalty, temperature, top-k, top-p, min-p).
//
//   SamplerParams params;                                   // in-class defaults
//   at::Generator gen = sculpt::make_sampler_generator(params.seed);
//   auto tokens = sculpt::sample_tokens(logits /*[batch, n_vocab]*/, params, context, gen);
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "core/logit_filters.h"

namespace sculpt {

// How the drafter picks its next token. Filters apply in the order of Hugging Face
// transformers and llama.cpp: repetition penalty -> temperature -> top-k -> top-p -> min-p.
struct SamplerParams {
  double temperature = 0.8;         // logits are divided by it; 0 = greedy (argmax)
  int top_k = 0;                    // keep the k most likely tokens; 0 = off
  double top_p = 1.0;               // nucleus: smallest set with cumulative prob >= top_p; 1 = off
  double min_p = 0.0;               // drop tokens with prob < min_p * max prob; 0 = off
  double repetition_penalty = 1.0;  // CTRL (Keskar et al. 2019) on context tokens; 1 = off
  int64_t seed = 0;                 // seed of the generator that make_sampler_generator builds

  template <class V>
  void visit(V& v) {
    v.field("temperature", temperature, "softmax temperature; 0 = greedy", Range{0, 100});
    v.field("top_k", top_k, "keep the k most likely tokens; 0 = off", Range::at_least(0));
    v.field("top_p", top_p, "nucleus mass, in (0, 1]; 1 = off", Range{0, 1});
    v.field("min_p", min_p, "drop tokens below min_p * max prob; 0 = off", Range{0, 1});
    v.field("repetition_penalty", repetition_penalty,
            "CTRL penalty on tokens already in the context, in (0, 100]; 1 = off", Range{0, 100});
    v.field("seed", seed, "sampling seed", Range::at_least(0));
  }
  // Checks the ranges above, including the open bounds top_p > 0 and repetition_penalty > 0;
  // throws sculpt::Error.
  void validate() const;
};

// One drawn token. logprob and entropy are under the MODEL's distribution, log_softmax of the
// raw logits before the repetition penalty, temperature or any filter, so that the refiner can
// judge how confident the drafter's model was, independently of the sampling settings.
struct SampledToken {
  int64_t id = 0;
  float logprob = 0.0f;  // log p_model(id), nats
  float entropy = 0.0f;  // -sum_v p_model(v) log p_model(v) of the row, nats
};

// at::make_generator<at::CPUGeneratorImpl>(seed): the generator sample_tokens draws from.
at::Generator make_sampler_generator(int64_t seed);

// Draws one token per row of logits [batch, n_vocab] (or one row [n_vocab]): applies the
// filters of `params` in the order above, then draws from softmax of the filtered logits with
// at::multinomial and `gen`; temperature 0 takes the argmax of the penalized logits (first
// index on ties) and draws nothing. Pure apart from advancing `gen`: the same generator state
// gives the same tokens. context_per_row as in apply_repetition_penalty. Throws sculpt::Error
// on invalid params or logits, or a row whose logits are all -inf.
std::vector<SampledToken> sample_tokens(const at::Tensor& logits, const SamplerParams& params,
                                        const std::vector<std::vector<int64_t>>& context_per_row,
                                        at::Generator& gen);

}  // namespace sculpt
