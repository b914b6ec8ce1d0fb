// Scoring: each token's log-probability under a causal model, the total negative log-likelihood
// and perplexity of a text (BOS prepended, as Llama does), or of a continuation given its context. Texts longer than the context are
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
// The same for a text's tokens as they are (not re-tokenized from their text).
ScoreResult score_ids(TransformerImpl& model, const Tokenizer& tokenizer, const std::vector<TokenId>& ids);

// The continuation alone, conditioned on BOS + context: log p(continuation | context). Context
// and continuation are tokenized separately (a text that starts with its leading space, as our
// generations do, tokenizes the same either way), so every output is scored on the same
// tokens whatever precedes it. Throws Error for an empty continuation or a non-causal model.
ScoreResult score_continuation(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& context,
                               const std::string& continuation);

}  // namespace sculpt
