// The refiner: a masked-diffusion transformer (bidirectional or block-causal) that writes the
// masked positions of a canvas in parallel, a few per step, over the whole context, and with
// confidence-gated editing revises tokens already written.
//
//   Refiner refiner = Refiner::load("models/refiner");
//   Canvas canvas = Canvas::from_parts(context_ids, draft_ids);  canvas.mark(spans, CanvasRole::kMasked);
//   RefineResult r = refiner.refine(canvas, RefineParams{});   // r.tokens, r.trace
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "core/transformer.h"
#include "diffusion_refine/canvas.h"
#include "diffusion_refine/refine_params.h"

namespace sculpt {

// One position whose token differs from the input canvas at the end.
struct TokenChange {
  int64_t position = 0;   // canvas position
  int64_t old_token = 0;  // the input canvas's (draft) token
  int64_t new_token = 0;
};

// What a refinement did.
struct RefineTrace {
  int64_t n_forward = 0;                    // forward passes, the prefix pass included
  std::vector<int64_t> committed_per_step;  // masked positions written at each step
  std::vector<int64_t> remasked_per_step;   // written tokens re-masked by editing at each step
  int64_t n_remasked = 0;                   // sum of remasked_per_step
  std::vector<TokenChange> changes;         // final differences from the input, ascending position
  std::vector<int64_t> commit_step;         // per canvas position: step that wrote its final token; -1 = not written
  int64_t n_prefix_cached = 0;              // context positions served from the prefix cache (0 = off);
                                            // later semi-AR blocks also cache the blocks before them
  int64_t n_recomputed = 0;                 // canvas positions a pass after a block's first runs
  double seconds = 0;                       // wall time of refine()
};

struct RefineResult {
  std::vector<int64_t> tokens;  // the refined canvas (same length; frozen positions untouched)
  RefineTrace trace;
};

class Refiner {
 public:
  // Throws Error if the model has no mask token, is causal, or its vocabulary differs from
  // the tokenizer's (naming both sizes).
  Refiner(Transformer model, Tokenizer tokenizer);
  // Loads <dir>/config.json, model.safetensors and tokenizer.model, with the LoRA adapter in
  // adapter_dir (PEFT layout, core/lora.h) merged into the weights; "" = none.
  static Refiner load(const std::string& model_dir, const std::string& adapter_dir = "");

  // Writes every kMasked position of `canvas` (and, with editing, revises written tokens) and
  // returns the new tokens and the trace. Throws Error for a canvas longer than the context, a
  // canvas with nothing to write or edit, or invalid params. Deterministic for a given seed.
  RefineResult refine(const Canvas& canvas, const RefineParams& params);

  // The refiner's probability of each canvas token as it stands, in one forward pass (for
  // choosing spans by the refiner's own confidence). Frozen positions get 1. [canvas size]
  std::vector<float> token_probabilities(const Canvas& canvas);

  // Throws Error unless `drafter_tokenizer` is the refiner's own vocabulary (same size, same
  // piece at every id): a draft in another vocabulary would be refined as garbage.
  void check_draft_tokenizer(const Tokenizer& drafter_tokenizer) const;

  const Tokenizer& tokenizer() const { return tokenizer_; }
  Transformer& model() { return model_; }
  int64_t mask_id() const { return model_->config().mask_token_id; }

 private:
  Transformer model_;
  Tokenizer tokenizer_;
};

}  // namespace sculpt
