// Drafting from a model directory on the CPU kernels, without LibTorch: the safetensors file is
// mapped and computed as stored (kernels/fast_decoder.h), the tokenizer is the core's, and each
// token is drawn by the Drafter's own sampler (core/sampler.h), greedy or seeded. It is what
// `sculpt draft` runs when a request needs nothing else (cli/draft_main.cpp), so that drafting
// starts in milliseconds rather than after LibTorch's half second of loading. The tokens,
// log-probabilities, text and stop reason are those the Drafter (ar_draft/drafter.h) gives for
// the same request.
//
//   std::string why_not;
//   if (auto drafter = KernelDrafter::open("models/drafter", &why_not))
//     DraftResult r = drafter->draft("The jury said", params);
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ar_draft/draft_params.h"
#include "ar_draft/draft_result.h"
#include "core/fast_decoder_layout.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"

namespace sculpt {

class KernelDrafter {
 public:
  // Whether draft() serves these params as the Drafter would: against the cache, on the
  // kernels' backend, with no copying and no banned phrases (any sampler settings). If not,
  // *why_not (if given) says why.
  static bool serves(const DraftParams& params, std::string* why_not = nullptr);

  // The drafter of model_dir (config.json, one model.safetensors, its tokenizer), or nullopt
  // with *why_not (if given) saying why the kernels do not compute it here as the Drafter would:
  // a file that is missing or does not load, a model that is not causal or that
  // fast_decoder_layout refuses, a sharded checkpoint, a vocabulary the tokenizer does not match.
  // Errors are not reported here: the Drafter, which reports them, is the caller's fallback.
  static std::optional<KernelDrafter> open(const std::string& model_dir, std::string* why_not = nullptr);

  // Drafts a continuation of `prompt` (BOS first where the model's tokenizer adds one), calling
  // on_token for each token. params must be served (serves()); a prompt that leaves no room in
  // the context is an Error, and max_tokens is clamped to the context with a warning, as the
  // Drafter does.
  DraftResult draft(const std::string& prompt, const DraftParams& params, const TokenCallback& on_token = {},
                    DraftStats* stats = nullptr);

  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  KernelDrafter(ModelConfig config, std::shared_ptr<const SafetensorsFile> file, FastDecoderModel model,
                Tokenizer tokenizer);

  ModelConfig config_;
  std::shared_ptr<const SafetensorsFile> file_;  // the mapping model_'s weights point into
  FastDecoderModel model_;
  Tokenizer tokenizer_;
};

}  // namespace sculpt
