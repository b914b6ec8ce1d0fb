// The `pipeline:` section of a pipeline config: what runs (hybrid, AR only, diffusion only),
// which models and index the pipeline loads, which retrieval stages run, and how long
// documents are cut into sections.
//
//   pipeline:
//     mode: hybrid                  # ar_only: the draft is the output; diffusion_only: no drafter
//     drafter: models/drafter
//     refiner: models/refiner
//     drafter_adapter: ""           # a LoRA adapter folder (sculpt finetune) merged in at load
//     index: build/brown.bm25
//     evaluator: models/evaluator   # scores outputs only (sculpt generate --score, sculpt ablate)
//     forbid: ["grand jury"]        # never in any output
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

enum class PipelineMode {
  kHybrid,         // draft, re-mask the weak spans, refine them
  kArOnly,         // the draft is the output (the refiner is not loaded)
  kDiffusionOnly,  // the refiner writes each section from an all-mask canvas (no drafter)
};

const char* pipeline_mode_name(PipelineMode mode);

struct PipelineParams {
  PipelineMode mode = PipelineMode::kHybrid;
  std::string drafter;               // drafter model directory (with its tokenizer.json or tokenizer.model)
  std::string refiner;               // refiner model directory (its tokenizer may differ from the drafter's)
  // LoRA adapters (PEFT folders, sculpt finetune) merged into the drafter's / refiner's weights at
  // load; keep several and name one. "" = the base model.
  std::string drafter_adapter;
  std::string refiner_adapter;
  std::string index;                 // retrieval index (sculpt index build); "" = no retrieval
  // A causal model, larger than the drafter, that scores what the pipeline writes (evaluator NLL):
  // `sculpt generate --score` and the default evaluator of `sculpt ablate`. Generation never
  // loads it, so it may name a folder that is not built yet. "" = none.
  std::string evaluator;
  bool retrieve_for_prompt = true;   // passages for the prompt go before it in the drafter's context
  bool retrieve_for_refine = true;   // passages for prompt + draft go into the refiner's frozen context
  int section_tokens = 0;            // long documents: new tokens per section; 0 = one section
  int max_tokens = 128;              // new tokens in all (may exceed the models' contexts)
  // Phrases no output may contain (core/phrase_ban.h: ASCII case ignored, any tokenization):
  // banned while drafting and refining, checked on the final text. A request adds to them; none
  // lifts them.
  std::vector<std::string> forbid;

  template <class V>
  void visit(V& v) {
    v.field("mode", mode, "what runs: hybrid (draft, then refine), ar_only (the draft), diffusion_only (the refiner alone)",
            Choices<PipelineMode>{{"hybrid", PipelineMode::kHybrid},
                                  {"ar_only", PipelineMode::kArOnly},
                                  {"diffusion_only", PipelineMode::kDiffusionOnly}});
    v.field("drafter", drafter, "drafter model directory");
    v.field("refiner", refiner, "refiner model directory (same tokenizer as the drafter)");
    v.field("drafter_adapter", drafter_adapter, "LoRA adapter folder merged into the drafter at load; empty = none");
    v.field("refiner_adapter", refiner_adapter, "LoRA adapter folder merged into the refiner at load; empty = none");
    v.field("index", index, "retrieval index file; empty = no retrieval");
    v.field("evaluator", evaluator, "causal model that scores outputs (generate --score, ablate); not used to generate");
    v.field("retrieve_for_prompt", retrieve_for_prompt, "inject passages for the prompt before drafting");
    v.field("retrieve_for_refine", retrieve_for_refine, "inject passages for prompt + draft before refining");
    v.field("section_tokens", section_tokens, "new tokens per section of a long document; 0 = one section",
            Range{0, 1 << 20});
    v.field("max_tokens", max_tokens, "new tokens in all; may exceed the models' contexts", Range{1, 1 << 24});
    v.field("forbid", forbid, "phrases no output may contain (case-insensitive, any tokenization)");
  }

  bool drafts() const { return mode != PipelineMode::kDiffusionOnly; }  // loads and runs the drafter
  bool refines() const { return mode != PipelineMode::kArOnly; }        // loads and runs the refiner
};

}  // namespace sculpt
