// The root of every Sculpt YAML config: the core sections (model, tokenizer, runtime, data,
// train) and those of the subsystems built on the core. It lives here, at the top of the
// dependency graph, because it is the one place that sees every subsystem's params struct.
//
//   SculptConfig cfg;
//   load_config("configs/train/tiny_drafter.yaml", {"draft.max_tokens=64"}, cfg);
//   std::cout << dump_config(cfg);
#pragma once

#include "ar_draft/drafter.h"
#include "core/core_config.h"
#include "diffusion_refine/refine_params.h"
#include "diffusion_refine/span_selector.h"
#include "hybrid/pipeline_params.h"
#include "retrieval/retrieval_params.h"

namespace sculpt {

struct SculptConfig : CoreConfig {
  DraftParams draft;    // the drafter's decoding (`sculpt draft`, the pipeline)
  SpanParams spans;     // which draft tokens the refiner re-masks
  RefineParams refine;  // the refiner's denoising (`sculpt refine`, the pipeline)
  RetrievalParams retrieval;  // retrievers, chunking, injection (`sculpt index`, `sculpt search`)
  PipelineParams pipeline;    // models, index and sections of the hybrid pipeline (`sculpt generate`)

  template <class V>
  void visit(V& v) {
    CoreConfig::visit(v);
    v.section("draft", draft, "autoregressive drafting");
    v.section("spans", spans, "span selection: which draft tokens are re-masked");
    v.section("refine", refine, "masked-diffusion refinement");
    v.section("retrieval", retrieval, "passage retrieval and context injection");
    v.section("pipeline", pipeline, "the hybrid pipeline: models, index, long documents");
  }
};

}  // namespace sculpt
