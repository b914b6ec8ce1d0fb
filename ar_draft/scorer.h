// Scoring: each token's log-probability under a causal model, the total negative log-likelihood
// and perplexity of a text (BOS prepended, as Llama does). Texts longer than the context are
// scored with a sliding window (stride half the context), every token exactly once.
//
//   ScoreResult s = score_text(*drafter.model(), drafter.tokenizer(), "The jury said ...");
//   std::printf("ppl %.2f\n", s.perplexity);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "core/transformer.h"

namespace sculpt {

struct ScoreResult {
  std::vector<int64_t> ids;     // the text's tokens (BOS excluded)
  std::vector<float> logprobs;  // log p(ids[i] | BOS, ids[..i]), nats
  double nll = 0;               // -sum(logprobs), nats
  double perplexity = 0;        // exp(nll / ids.size())
};

// Throws Error for an empty text or a model whose attention is not causal.
ScoreResult score_text(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& text);

}  // namespace sculpt
