// The seeded token sampler, chaining the logit filters of core/logit_filters.h; see sampler.h.
#include "core/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/logit_filters.h"

namespace sculpt {

TokenSampler::TokenSampler(const SamplerParams& params) : params_(params), random_(uint64_t(params.seed)) {
  params_.validate();
}

template <class T>
SampledToken TokenSampler::sample(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context) {
  return model_token(logits, n_vocab, draw(logits, n_vocab, context));
}

template <class T>
TokenId TokenSampler::draw(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context) {
  const char* where = "sample";
  if (params_.temperature == 0) return greedy_id(logits, n_vocab, context, params_.repetition_penalty);
  row_.assign(logits, logits + n_vocab);
  check_logit_row(where, row_);
  if (std::all_of(row_.begin(), row_.end(), [](double x) { return std::isinf(x); }))
    fail(where, "a row of logits is all -inf");
  if (params_.repetition_penalty != 1.0) apply_repetition_penalty(row_, context, params_.repetition_penalty);
  apply_temperature(row_, params_.temperature);
  // Only the filters that are on: each checks the whole row first, once per token.
  if (params_.top_k > 0) apply_top_k(row_, params_.top_k);
  if (params_.top_p < 1) apply_top_p(row_, params_.top_p);
  if (params_.min_p > 0) apply_min_p(row_, params_.min_p);
  softmax_in_place(row_);
  // The first argmax of p_v / q_v over every v, one q_v drawn per token as at::multinomial
  // does. Since q_v >= u_v, p_v / q_v <= p_v / u_v: a token whose bound is clearly below the
  // best ratio so far cannot win, and its logarithm is skipped (most of a vocabulary, whose p_v
  // are tiny or 0). The margin covers the rounding of the ratio and the logarithm many times over.
  constexpr double kMargin = 1 - 1e-9;
  TokenId best = -1;
  double best_ratio = -std::numeric_limits<double>::infinity();
  for (int64_t v = 0; v < n_vocab; ++v) {
    const double u = random_.uniform();
    const double p = row_[size_t(v)];
    if (p < best_ratio * u * kMargin) continue;
    const double ratio = p / SamplerRandom::exponential_of(u);
    if (ratio > best_ratio) best = v, best_ratio = ratio;
  }
  if (best < 0) fail(where, "no token could be drawn");  // unreachable: the top token keeps p > 0
  return best;
}

template SampledToken TokenSampler::sample(const float*, int64_t, const std::vector<TokenId>&);
template SampledToken TokenSampler::sample(const double*, int64_t, const std::vector<TokenId>&);
template TokenId TokenSampler::draw(const float*, int64_t, const std::vector<TokenId>&);
template TokenId TokenSampler::draw(const double*, int64_t, const std::vector<TokenId>&);

}  // namespace sculpt
