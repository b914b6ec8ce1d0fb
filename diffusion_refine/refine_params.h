// How the refiner denoises a canvas: the commit rule, step budget, semi-autoregressive blocks,
// confidence-gated editing, prefix cache and prediction sampling, with their defaults.
//
//   RefineParams params;                 // low-confidence remasking, 16 steps, prefix cache on
//   params.rule = DecodeRule::kThreshold;  params.threshold = 0.9;
//   params.validate();
#pragma once

#include <cstdint>

#include "core/config.h"
#include "diffusion_refine/denoise_schedule.h"

namespace sculpt {

enum class DecodeRule {
  kLowConfidence,  // commit the most confident masked positions, by the schedule (LLaDA)
  kThreshold,      // commit every masked position with confidence >= threshold, at least one (Fast-dLLM)
};

enum class EditScope {
  kSpans,  // editing may revise only what the refiner wrote (the re-masked spans)
  kDraft,  // ... and every visible draft token too
};

struct RefineParams {
  bool enabled = true;                 // pipeline: false = the draft is the output (AR-only baseline)
  DecodeRule rule = DecodeRule::kLowConfidence;
  int steps = 16;                      // low_confidence: denoising steps over all blocks (>= 1)
  RemaskSchedule schedule = RemaskSchedule::kLinear;  // low_confidence: tokens per step
  double threshold = 0.9;              // threshold rule: tau, the confidence that commits
  int block_length = 0;                // semi-AR blocks of this many canvas positions, left to right; 0 = one block
  double edit_threshold = 0.0;         // eta: a written token whose probability falls below it is re-masked; 0 = off
  int max_edits = 1;                   // re-maskings allowed per position
  EditScope edit_scope = EditScope::kSpans;
  bool prefix_cache = true;            // reuse the frozen prefix's keys/values (exact only if block_causal)
  bool span_cache = false;             // reuse every unchanging position's keys/values: steps run only the
                                       // spans (bidirectional only; approximate; overrides prefix_cache)
  int cache_refresh = 0;               // recompute the whole canvas every k steps; 0 = once per block
  double temperature = 0.0;            // prediction sampling; 0 = argmax
  int top_k = 0;                       // 0 = off
  double top_p = 1.0;                  // 1 = off
  int64_t seed = 0;                    // seed of the prediction sampler
  int no_repeat_ngram = 0;             // never write a token that repeats an n-gram of the section; 0 = off

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, "pipeline: refine the draft; false = AR-only baseline");
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
    v.field("prefix_cache", prefix_cache, "encode the frozen prefix once (approximate under bidirectional attention)");
    v.field("span_cache", span_cache,
            "encode everything outside the spans once; steps run only the spans (bidirectional refiners; approximate)");
    v.field("cache_refresh", cache_refresh, "re-encode the whole canvas every k steps; 0 = once per block",
            Range{0, 1 << 20});
    v.field("temperature", temperature, "prediction temperature; 0 = argmax", Range{0.0, 100.0});
    v.field("top_k", top_k, "keep the k most likely predictions; 0 = off", Range::at_least(0));
    v.field("top_p", top_p, "nucleus mass, in (0, 1]; 1 = off", Range{0.0, 1.0});
    v.field("seed", seed, "prediction sampling seed", Range::at_least(0));
    v.field("no_repeat_ngram", no_repeat_ngram,
            "n: a written token may not repeat an n-gram of the draft section; 0 = off", Range{0, 64});
  }
  // Open bounds the Ranges cannot say (top_p > 0); throws Error.
  void validate() const;
};

}  // namespace sculpt
