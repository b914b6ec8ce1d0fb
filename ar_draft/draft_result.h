// What drafting returns, with or without LibTorch (ar_draft/drafter.h, ar_draft/kernel_drafter.h):
// the drafted tokens with the drafter's confidence in each, the text, why it stopped, timings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// One drafted token, with the drafter's confidence in it (natural log units), under the
// drafter's distribution: the model's, mixed with the copy distribution where copying matched.
struct DraftToken {
  TokenId id = 0;
  float logprob = 0.0f;  // log p(id | prefix)
  float entropy = 0.0f;  // entropy of p(. | prefix)
};

enum class StopReason { kMaxTokens, kEos, kStopString, kContext };
const char* stop_reason_name(StopReason reason);

struct DraftResult {
  std::vector<TokenId> prompt_ids;  // the encoded prompt, after BOS where the model's tokenizer adds one
  std::vector<DraftToken> tokens;   // drafted tokens (EOS and tokens past a stop string excluded)
  std::string text;                 // decoded drafted tokens, cut at a stop string
  StopReason stop_reason = StopReason::kMaxTokens;
};

struct DraftStats {
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t n_forward = 0;          // forward passes, prefill included
  int64_t n_prompt_tokens = 0;    // summed over rows (padding excluded)
  int64_t n_generated = 0;        // summed over rows
  bool fast_decoder = false;      // Sculpt's CPU kernels computed the passes (else LibTorch)
};

// Called once per drafted token of each row, in order; `text` is what the token adds to the
// row's text (may be empty while a multi-byte character is incomplete).
using TokenCallback = std::function<void(int64_t row, const DraftToken& token, const std::string& text)>;

}  // namespace sculpt
