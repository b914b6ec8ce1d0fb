// The model's confidence in a token and the greedy choice; see sampled_token.h.
#include "core/sampled_token.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace sculpt {

template <class T>
SampledToken model_token(const T* logits, int64_t n_vocab, TokenId id) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t v = 0; v < n_vocab; ++v) max = std::max(max, double(logits[v]));
  // With x = logit - max, Z = sum e^x and p = e^x / Z: log p = x - log Z, and the entropy
  // -sum p log p = log Z - (sum e^x x) / Z, from one exponential per token (a -inf logit adds 0).
  double z = 0, ex = 0;
  for (int64_t v = 0; v < n_vocab; ++v) {
    const double x = double(logits[v]) - max;
    const double e = std::exp(x);
    if (e > 0) z += e, ex += e * x;
  }
  const double log_z = std::log(z);
  return {id, float(double(logits[id]) - max - log_z), float(log_z - ex / z)};
}

template <class T>
SampledToken greedy_token(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context,
                          double repetition_penalty) {
  return model_token(logits, n_vocab, greedy_id(logits, n_vocab, context, repetition_penalty));
}

template <class T>
TokenId greedy_id(const T* logits, int64_t n_vocab, const std::vector<TokenId>& context, double repetition_penalty) {
  const char* where = "greedy_token";
  if (!(repetition_penalty > 0 && std::isfinite(repetition_penalty)))
    fail(where, "repetition penalty must be finite and > 0, got ", repetition_penalty);
  for (int64_t v = 0; v < n_vocab; ++v) {
    if (std::isnan(logits[v])) fail(where, "logits contain NaN");
    if (logits[v] == std::numeric_limits<T>::infinity()) fail(where, "logits contain +inf");
  }
  // The penalized value of each context id (each once, however often it occurs).
  std::vector<std::pair<TokenId, double>> penalized;
  if (repetition_penalty != 1.0)
    for (TokenId id : context) {
      if (id < 0 || id >= n_vocab) fail(where, "context token id ", id, " is outside [0, ", n_vocab, ")");
      const double x = double(logits[id]);
      penalized.emplace_back(id, x > 0 ? x / repetition_penalty : x * repetition_penalty);
    }
  // value(v) is logits[v] unless the context penalized it; ids not in the context are the usual case.
  std::vector<double> row;
  if (!penalized.empty()) {
    row.assign(logits, logits + n_vocab);
    for (const auto& [id, x] : penalized) row[size_t(id)] = x;
  }
  TokenId best = -1;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int64_t v = 0; v < n_vocab; ++v) {
    const double x = row.empty() ? double(logits[v]) : row[size_t(v)];
    if (x > best_value) best = v, best_value = x;
  }
  if (best < 0) fail(where, "a row of logits is all -inf");
  return best;
}

template SampledToken model_token(const float*, int64_t, TokenId);
template SampledToken model_token(const double*, int64_t, TokenId);
template SampledToken greedy_token(const float*, int64_t, const std::vector<TokenId>&, double);
template SampledToken greedy_token(const double*, int64_t, const std::vector<TokenId>&, double);
template TokenId greedy_id(const float*, int64_t, const std::vector<TokenId>&, double);
template TokenId greedy_id(const double*, int64_t, const std::vector<TokenId>&, double);

}  // namespace sculpt
