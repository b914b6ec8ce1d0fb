// The drafter: a causal transformer that writes a fast first draft, token by token against a
// preallocated key/value cache, and records how sure it was of every token (log-probability and
// entropy under the model), which the refiner uses to choose what to rewrite.
//
//   Drafter drafter = Drafter::load("models/drafter");
//   DraftParams params;  params.max_tokens = 64;
//   std::vector<DraftResult> out = drafter.draft({"The jury said"}, params);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ar_draft/draft_params.h"
#include "core/token_id.h"
#include "core/runtime_params.h"
#include "core/tokenizer.h"
#include "core/transformer.h"

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

class Drafter {
 public:
  // Throws Error if the model is not causal (a diffusion family, naming it) or if its vocabulary
  // and the tokenizer's differ (naming both sizes).
  Drafter(Transformer model, Tokenizer tokenizer);
  // Loads <dir>/config.json, model.safetensors and its tokenizer (Tokenizer::load_dir), with the LoRA adapter in
  // adapter_dir (PEFT layout, core/lora_merge.h) merged into the weights; "" = none. The
  // weights are held in kernels_weights_dtype(model_dir, dtype, backend) (core/fast_decoder_weights.h).
  static Drafter load(const std::string& model_dir, const std::string& adapter_dir = "",
                       WeightsDType dtype = WeightsDType::kAuto, DecodeBackend backend = DecodeBackend::kAuto);

  // Drafts a continuation for every prompt (one batch; prompts of different lengths are
  // left-padded and the padding masked). A prompt longer than the context is an Error.
  std::vector<DraftResult> draft(const std::vector<std::string>& prompts, const DraftParams& params,
                                 const TokenCallback& on_token = {}, DraftStats* stats = nullptr);

  // The same from token ids (BOS not added): for callers that manage the context themselves,
  // such as the pipeline's window over a long document. references: none, or one token
  // sequence per row that params.copy may quote (the pipeline passes the retrieved passages).
  // An empty row, an id outside the vocabulary or a reference count that is neither 0 nor the
  // number of rows is an Error.
  std::vector<DraftResult> draft_ids(const std::vector<std::vector<TokenId>>& prompt_ids, const DraftParams& params,
                                     const TokenCallback& on_token = {}, DraftStats* stats = nullptr,
                                     const std::vector<std::vector<TokenId>>& references = {});

  const Tokenizer& tokenizer() const { return tokenizer_; }
  Transformer& model() { return model_; }

 private:
  Transformer model_;
  Tokenizer tokenizer_;
};

}  // namespace sculpt
