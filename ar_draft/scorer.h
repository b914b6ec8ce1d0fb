// Scoring: each token's log-probability under a causal model, the total negative log-likelihood
// and perplexity of a text, or of a continuation given its context. The sequence starts as the
// model's own tokenizer starts it: with BOS (Llama, our sentencepiece models), or, for a
// tokenizer that adds none (Qwen), with the text's first token, which has nothing to be
// predicted from and is not scored (as transformers' loss leaves it out). Texts longer than the
// context are scored with a sliding window (stride half the context), every token exactly once.
//
//   ScoreResult s = score_text(*drafter.model(), drafter.tokenizer(), "The jury said ...");
//   std::printf("ppl %.2f\n", s.perplexity);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "core/transformer_fwd.h"

namespace sculpt {

struct ScoreResult {
  std::vector<int64_t> ids;     // the scored tokens: the text's (BOS excluded; without BOS all but the first)
  std::vector<float> logprobs;  // log p(ids[i] | everything before it), nats
  double nll = 0;               // -sum(logprobs), nats
  double perplexity = 0;        // exp(nll / ids.size())
};

// Throws Error for a text with no token to score or a model whose attention is not causal.
ScoreResult score_text(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& text);
// The same for a text's tokens as they are (not re-tokenized from their text).
ScoreResult score_ids(TransformerImpl& model, const Tokenizer& tokenizer, const std::vector<TokenId>& ids);

// The continuation alone, conditioned on BOS (if any) + context: log p(continuation | context). Context
// and continuation are tokenized separately (a text that starts with its leading space, as our
// generations do, tokenizes the same either way), so every output is scored on the same
// tokens whatever precedes it. Without BOS and context the continuation's first token is not
// scored. Throws Error for a continuation with no token to score or a non-causal model.
ScoreResult score_continuation(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& context,
                               const std::string& continuation);

}  // namespace sculpt
