// How the refiner denoises a canvas (`refine:` section of a pipeline config): the commit rule,
// step budget, semi-autoregressive blocks, confidence-gated editing, the cache and how
// predictions are drawn, with their defaults.
//
//   RefineParams params;                   // low-confidence remasking, 16 steps, prefix cache
//   params.rule = DecodeRule::kThreshold;  params.threshold = 0.9;
//   params.validate();
#pragma once

#include <cstdint>
#include <memory>

#include "core/config.h"
#include "core/decode_backend.h"
#include "core/sampler_params.h"

namespace sculpt {

class PhraseBan;

enum class DecodeRule {
  kLowConfidence,  // commit the most confident masked positions, by the schedule (LLaDA)
  kThreshold,      // commit every masked position with confidence >= threshold, at least one (Fast-dLLM)
};

enum class RemaskSchedule {
  kLinear,  // the same number every step (LLaDA's get_num_transfer_tokens)
  kCosine,  // few early, more later: masked share after step s is cos(pi/2 * s / N) (MaskGIT)
};

enum class EditScope {
  kSpans,  // editing may revise only what the refiner wrote (the re-masked spans)
  kDraft,  // ... and every visible draft token too
};

// Which keys and values a denoising step reuses instead of recomputing (canvas_forward.h).
enum class RefineCache {
  kNone,    // every step runs the whole canvas
  kPrefix,  // the frozen prefix is encoded once (exact only for block-causal refiners)
  kSpans,   // everything outside the spans is encoded once and steps run only the spans
            // (bidirectional refiners; approximate, refreshed by cache_refresh)
};

// A sampler that takes the most likely token: the refiner's default prediction rule.
inline SamplerParams argmax_sampler() {
  SamplerParams p;
  p.temperature = 0.0;
  return p;
}

struct RefineParams {
  DecodeRule rule = DecodeRule::kLowConfidence;
  int steps = 16;                      // low_confidence: denoising steps over all blocks (>= 1)
  RemaskSchedule schedule = RemaskSchedule::kLinear;  // low_confidence: tokens per step
  double threshold = 0.9;              // threshold rule: tau, the confidence that commits
  int block_length = 0;                // semi-AR blocks of this many canvas positions, left to right; 0 = one block
  double edit_threshold = 0.0;         // eta: a written token whose probability falls below it is re-masked; 0 = off
  int max_edits = 1;                   // re-maskings allowed per position
  EditScope edit_scope = EditScope::kSpans;
  RefineCache cache = RefineCache::kPrefix;
  int cache_refresh = 0;               // recompute the whole canvas every k steps; 0 = once per block
  DecodeBackend backend = DecodeBackend::kAuto;  // what computes the canvas passes
  // How each masked position's prediction is drawn; temperature 0 = argmax. The repetition
  // penalty is a drafter's filter: the refiner refuses one (validate).
  SamplerParams sampler = argmax_sampler();
  int no_repeat_ngram = 0;             // never write a token that repeats an n-gram of the section; 0 = off
  // Set by the caller, not by YAML: phrases never to write (pipeline.forbid, a request's). Null = none.
  std::shared_ptr<const PhraseBan> ban;

  template <class V>
  void visit(V& v) {
    v.removed("enabled", "pipeline.mode (hybrid, ar_only or diffusion_only)");
    v.removed("prefix_cache", "refine.cache (none, prefix or spans)");
    v.removed("span_cache", "refine.cache (none, prefix or spans)");
    for (const char* key : {"temperature", "top_k", "top_p", "seed"})
      v.removed(key, std::string("refine.sampler.") + key);
    v.field("rule", rule, "which masked positions a step commits",
            Choices<DecodeRule>{{"low_confidence", DecodeRule::kLowConfidence}, {"threshold", DecodeRule::kThreshold}});
    v.field("steps", steps, "low_confidence: denoising steps", Range{1, 1 << 20});
    v.field("schedule", schedule, "low_confidence: tokens committed per step",
            Choices<RemaskSchedule>{{"linear", RemaskSchedule::kLinear}, {"cosine", RemaskSchedule::kCosine}});
    v.field("threshold", threshold, "threshold rule: confidence that commits (tau)", Range{0.0, 1.0});
    v.field("block_length", block_length, "semi-autoregressive block length in tokens; 0 = one block",
            Range{0, 1 << 20});
    v.field("edit_threshold", edit_threshold, "re-mask a written token whose probability falls below it; 0 = off",
            Range{0.0, 1.0});
    v.field("max_edits", max_edits, "re-maskings allowed per position", Range{0, 1000});
    v.field("edit_scope", edit_scope, "what editing may revise",
            Choices<EditScope>{{"spans", EditScope::kSpans}, {"draft", EditScope::kDraft}});
    v.field("cache", cache,
            "keys/values reused across steps: none; prefix (the frozen context, approximate unless block-causal); "
            "spans (all but the spans, bidirectional refiners, approximate)",
            Choices<RefineCache>{{"none", RefineCache::kNone}, {"prefix", RefineCache::kPrefix}, {"spans", RefineCache::kSpans}});
    v.field("cache_refresh", cache_refresh, "re-encode the whole canvas every k steps; 0 = once per block",
            Range{0, 1 << 20});
    v.field("backend", backend,
            "what computes the canvas passes: auto (Sculpt's CPU kernels when the refiner is a causal or bidirectional "
            "Llama-layout model without a mixture of experts, its matrices in float32, float16 or bfloat16; else "
            "LibTorch) or libtorch",
            decode_backend_choices());
    v.section("sampler", sampler, "how predictions are drawn (temperature 0 = argmax)");
    v.field("no_repeat_ngram", no_repeat_ngram,
            "n: a written token may not repeat an n-gram of the draft section; 0 = off", Range{0, 64});
  }
  // Open bounds the Ranges cannot say (sampler.top_p > 0), a repetition penalty; throws Error.
  void validate() const;
};

}  // namespace sculpt
