// score_text: sliding-window log-likelihood under a causal model.
#include "ar_draft/scorer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/transformer.h"

namespace sculpt {

namespace {

void check_scorable(TransformerImpl& model) {
  if (model.config().attention != AttentionMode::kCausal)
    fail("score", "scoring needs a causal model, this one is ", attention_mode_name(model.config().attention));
}

// BOS where the model's tokenizer puts one before a text, then the text's tokens.
std::vector<TokenId> model_sequence(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::vector<TokenId> seq;
  if (tokenizer.bos_for_model() >= 0) seq.push_back(tokenizer.bos_for_model());
  seq.insert(seq.end(), ids.begin(), ids.end());
  return seq;
}

// Throws unless there is a token to score: `what` is empty, or it is one token with nothing
// before it (no BOS, no context).
void check_something_to_score(int64_t n_tokens, int64_t n_scored, const char* what) {
  if (n_scored > 0) return;
  if (n_tokens == 0) fail("score", "the ", what, " is empty: nothing to score");
  fail("score", "the ", what, " is one token with nothing before it (the tokenizer adds no BOS): nothing to score");
}

// Scores seq[first..] (first >= 1) given everything before it; seq[0] is BOS or a first token
// that is not scored.
ScoreResult score_sequence(TransformerImpl& model, const std::vector<int64_t>& seq, int64_t first) {
  ScoreResult out;
  out.ids.assign(seq.begin() + first, seq.end());
  const int64_t n = int64_t(seq.size());
  const int64_t window = model.config().max_position_embeddings;
  const int64_t stride = std::max<int64_t>(1, window / 2);
  out.logprobs.assign(out.ids.size(), 0.0f);

  at::NoGradGuard no_grad;
  // Window [begin, end) predicts tokens begin+1 .. end-1; only those not scored by an earlier
  // window (index >= scored_until) are kept, so every token is scored once with at least half
  // a window of left context (less only near BOS). The first window starts half a window before
  // `first`, or earlier still when one window can then reach the end (a short continuation
  // after a long context costs one forward pass).
  int64_t scored_until = first;
  const int64_t first_begin = std::max<int64_t>(0, std::min(first - stride, n - window));
  for (int64_t begin = first_begin; scored_until < n; begin += stride) {
    const int64_t end = std::min(n, begin + window);
    at::Tensor tokens = at::tensor(std::vector<int64_t>(seq.begin() + begin, seq.begin() + end), at::kLong).unsqueeze(0);
    at::Tensor logp = at::log_softmax(model.forward(tokens).squeeze(0), /*dim=*/-1);  // [len, vocab]
    for (int64_t target = std::max(scored_until, begin + 1); target < end; ++target)
      out.logprobs[size_t(target - first)] = logp[target - begin - 1][seq[size_t(target)]].item<float>();
    scored_until = end;
  }
  for (float lp : out.logprobs) out.nll -= lp;
  out.perplexity = std::exp(out.nll / double(out.ids.size()));
  return out;
}

}  // namespace

ScoreResult score_text(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& text) {
  return score_ids(model, tokenizer, tokenizer.encode(text));
}

ScoreResult score_ids(TransformerImpl& model, const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  check_scorable(model);
  const std::vector<TokenId> seq = model_sequence(tokenizer, ids);
  check_something_to_score(int64_t(ids.size()), int64_t(seq.size()) - 1, "text");
  return score_sequence(model, seq, 1);
}

ScoreResult score_continuation(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& context,
                               const std::string& continuation) {
  check_scorable(model);
  std::vector<TokenId> seq = model_sequence(tokenizer, tokenizer.encode(context));
  const int64_t n_before = int64_t(seq.size());
  for (TokenId id : tokenizer.encode(continuation)) seq.push_back(id);
  const int64_t first = std::max<int64_t>(n_before, 1);
  check_something_to_score(int64_t(seq.size()) - n_before, int64_t(seq.size()) - first, "continuation");
  return score_sequence(model, seq, first);
}

}  // namespace sculpt
