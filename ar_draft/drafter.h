// The drafter: a causal transformer that writes a fast first draft, token by token against a
// preallocated key/value cache, and records how sure it was of every token (log-probability and
// entropy under the model), which the refiner uses to choose what to rewrite.
//
//   Drafter drafter = Drafter::load("models/drafter");
//   DraftParams params;  params.max_tokens = 64;
//   std::vector<DraftResult> out = drafter.draft({"The jury said"}, params);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ar_draft/draft_params.h"
#include "ar_draft/draft_result.h"
#include "core/token_id.h"
#include "core/runtime_params.h"
#include "core/tokenizer.h"
#include "core/transformer.h"

namespace sculpt {

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
