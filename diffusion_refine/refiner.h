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

#include "core/decode_backend.h"
#include "core/runtime_params.h"
#include "core/tokenizer.h"
#include "core/transformer.h"
#include "diffusion_refine/canvas.h"
#include "diffusion_refine/denoiser.h"
#include "diffusion_refine/refine_params.h"
#include "diffusion_refine/refine_result.h"

namespace sculpt {

// The refiner's mask token: config.json's mask_token_id when the model names one (Dream, LLaDA),
// else the tokenizer's id of the piece the model's family masks with (ModelFamily::mask_piece:
// SDAR's "<|MASK|>", Fast-dLLM v2's "|<MASK>|"), else the tokenizer's [MASK] (Sculpt's own
// models); -1 if there is none.
TokenId refiner_mask_id(const ModelConfig& config, const Tokenizer& tokenizer);

class Refiner : public Denoiser {
 public:
  // The mask token is refiner_mask_id(). Throws Error if there is none (naming the pieces looked
  // for), if the model is causal, or if its vocabulary differs from the tokenizer's (naming both
  // sizes).
  Refiner(Transformer model, Tokenizer tokenizer);
  // Loads <dir>/config.json, model.safetensors and its tokenizer (Tokenizer::load_dir), with the LoRA adapter in
  // adapter_dir (PEFT layout, core/lora_merge.h) merged into the weights; "" = none. The
  // weights are held in kernels_weights_dtype(model_dir, dtype, backend)
  // (core/fast_decoder_weights.h): the checkpoint's float16 or bfloat16 under kAuto when the
  // CPU kernels compute the passes.
  static Refiner load(const std::string& model_dir, const std::string& adapter_dir = "",
                       WeightsDType dtype = WeightsDType::kAuto, DecodeBackend backend = DecodeBackend::kAuto);

  // Writes every kMasked position of `canvas` (and, with editing, revises written tokens) and
  // returns the new tokens and the trace; on_step (if set) sees each step as it finishes.
  // Throws Error for a canvas longer than the context, a canvas with nothing to write or edit,
  // or invalid params. Deterministic for a given seed.
  RefineResult refine(const Canvas& canvas, const RefineParams& params, const RefineStepCallback& on_step = {});
  // The same, as the pipeline's Denoiser.
  RefineResult denoise(const Canvas& canvas, const RefineParams& params, const RefineStepCallback& on_step) override {
    return refine(canvas, params, on_step);
  }

  // The refiner's probability of each canvas token as it stands, in one forward pass (for
  // choosing spans by the refiner's own confidence). Frozen positions get 1. [canvas size]
  std::vector<float> token_probabilities(const Canvas& canvas);

  const Tokenizer& tokenizer() const { return tokenizer_; }
  Transformer& model() { return model_; }
  TokenId mask_id() const { return mask_id_; }

 private:
  Transformer model_;
  Tokenizer tokenizer_;
  TokenId mask_id_ = -1;
};

}  // namespace sculpt
