// score_text: sliding-window log-likelihood under a causal model.
#include "ar_draft/scorer.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace sculpt {

ScoreResult score_text(TransformerImpl& model, const Tokenizer& tokenizer, const std::string& text) {
  if (model.config().attention != AttentionMode::kCausal)
    fail("score", "scoring needs a causal model, this one is ", attention_mode_name(model.config().attention));
  if (tokenizer.bos_id() < 0) fail(tokenizer.path(), "the tokenizer has no BOS piece to start scoring from");
  ScoreResult out;
  for (int32_t id : tokenizer.encode(text)) out.ids.push_back(id);
  if (out.ids.empty()) fail("score", "the text is empty: nothing to score");

  std::vector<int64_t> seq{tokenizer.bos_id()};
  seq.insert(seq.end(), out.ids.begin(), out.ids.end());
  const int64_t n = int64_t(seq.size());
  const int64_t window = model.config().max_position_embeddings;
  const int64_t stride = std::max<int64_t>(1, window / 2);
  out.logprobs.assign(out.ids.size(), 0.0f);

  at::NoGradGuard no_grad;
  // Window [begin, end) predicts tokens begin+1 .. end-1; only those not scored by an earlier
  // window (index >= scored_until) are kept, so every token is scored once with the longest
  // left context the window allows.
  int64_t scored_until = 1;
  for (int64_t begin = 0; scored_until < n; begin += stride) {
    const int64_t end = std::min(n, begin + window);
    at::Tensor tokens = at::tensor(std::vector<int64_t>(seq.begin() + begin, seq.begin() + end), at::kLong).unsqueeze(0);
    at::Tensor logp = at::log_softmax(model.forward(tokens).squeeze(0), /*dim=*/-1);  // [len, vocab]
    for (int64_t target = std::max(scored_until, begin + 1); target < end; ++target)
      out.logprobs[size_t(target - 1)] = logp[target - begin - 1][seq[size_t(target)]].item<float>();
    scored_until = end;
  }
  for (float lp : out.logprobs) out.nll -= lp;
  out.perplexity = std::exp(out.nll / double(out.ids.size()));
  return out;
}

}  // namespace sculpt
