// How the drafter decodes (`draft:` section of a pipeline config), with its defaults.
//
//   draft:
//     max_tokens: 128
//     stop: ["\n\n"]
//     sampler: {temperature: 0.7, top_p: 0.95, seed: 1}
//     copy: {weight: 0.8, min_match: 6}
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/decode_backend.h"
#include "core/sampler_params.h"

namespace sculpt {

class PhraseBan;

// Copying from retrieved passages while drafting (ar_draft/reference_copy.h).
struct CopyParams {
  double weight = 0.0;  // mass moved to the copy distribution when a match is found; 0 = off
  int min_match = 4;    // the draft's last tokens that must occur in a passage before it copies

  template <class V>
  void visit(V& v) {
    v.field("weight", weight, "share of the next-token distribution copied from matched passages; 0 = off",
            Range{0.0, 1.0});
    v.field("min_match", min_match, "tokens of the draft's end a passage must repeat before copying", Range{1, 1024});
  }
};

struct DraftParams {
  int max_tokens = 128;             // new tokens per prompt; clamped (with a warning) to the context
  bool use_cache = true;            // false = recompute the whole sequence every step (for comparison)
  DecodeBackend backend = DecodeBackend::kAuto;  // cached decoding only; recomputation is LibTorch's
  bool stop_at_eos = true;          // stop a row when it draws EOS
  std::vector<std::string> stop;    // stop strings; the text is cut before the first one found
  SamplerParams sampler;
  CopyParams copy;                  // quoting the references (retrieved passages) draft_ids is given
  // Set by the caller, not by YAML: phrases never to write (pipeline.forbid, a request's). Null = none.
  std::shared_ptr<const PhraseBan> ban;

  template <class V>
  void visit(V& v) {
    v.removed("enabled", "pipeline.mode (hybrid, ar_only or diffusion_only)");
    v.field("max_tokens", max_tokens, "new tokens per prompt", Range{1, 1 << 20});
    v.field("use_cache", use_cache, "decode against the KV cache; false = recompute every step");
    v.field("backend", backend,
            "what computes cached decoding: auto (Sculpt's CPU kernels when the model is a causal Llama-layout decoder "
            "without a mixture of experts, its matrices in float32, float16 or bfloat16; else LibTorch) or libtorch",
            decode_backend_choices());
    v.field("stop_at_eos", stop_at_eos, "stop a row at the end-of-sequence token");
    v.field("stop", stop, "stop strings");
    v.section("sampler", sampler, "token sampling");
    v.section("copy", copy, "copying from retrieved passages (kNN-LM mixture over n-gram matches)");
  }
};

}  // namespace sculpt
