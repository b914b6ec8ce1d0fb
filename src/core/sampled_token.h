// A drawn token with the model's confidence in it, and the sampler's temperature-0 case (the
// argmax), torch-free: the token sampler (core/sampler.h) reports every token it draws here.
//
//   SampledToken t = greedy_token(logits.data(), n_vocab, context, /*repetition_penalty=*/1.0);
#pragma once

#include <cstdint>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// One drawn token. logprob and entropy are under the MODEL's distribution, log_softmax of the
// raw logits before the repetition penalty, temperature or any filter, so that the refiner can
// judge how confident the drafter's model was, independently of the sampling settings.
struct SampledToken {
  TokenId id = 0;
  float logprob = 0.0f;  // log p_model(id), nats
  float entropy = 0.0f;  // -sum_v p_model(v) log p_model(v) of the row, nats
};

// Token `id` of one row of logits [n_vocab] with its logprob and entropy under softmax(logits),
// computed in double. The row must have a finite maximum (no NaN, no +inf, not all -inf).
template <class T>
SampledToken model_token(const T* logits, int64_t n_vocab, TokenId id);

// The argmax of one row of logits [n_vocab] after the CTRL repetition penalty on the ids of
// `context` (core/logit_filters.h's apply_repetition_penalty; 1 = off), first index on ties, as
// model_token reports it. Throws sculpt::Error for NaN or +inf logits, a row all -inf, a context
// id outside the vocabulary or a penalty that is not finite and > 0.
template <class T>
SampledToken greedy_token(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context,
                          double repetition_penalty);

// greedy_token's id alone, with the same checks: for a caller that does not read the model's
// logprob and entropy, which cost an exponential per token of the vocabulary.
template <class T>
TokenId greedy_id(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context, double repetition_penalty);

}  // namespace sculpt
