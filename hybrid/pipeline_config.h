// A pipeline config: the sections `sculpt generate`, `sculpt refine`, `sculpt ablate` and the
// library's Pipeline read (models and mode, drafting, span selection, refinement, retrieval).
// Training configs (train/train_config.h) are the other kind of Sculpt config file.
//
//   PipelineConfig cfg;
//   load_config("configs/pipeline/brown.yaml", {"refine.steps=8"}, cfg);
//   std::cout << dump_config(cfg);
#pragma once

#include "ar_draft/draft_params.h"
#include "core/config.h"
#include "core/distributed_params.h"
#include "core/runtime_params.h"
#include "diffusion_refine/refine_params.h"
#include "diffusion_refine/span_params.h"
#include "hybrid/pipeline_params.h"
#include "retrieval/retrieval_params.h"

namespace sculpt {

struct PipelineConfig {
  GenerationRuntimeParams runtime;
  PipelineParams pipeline;        // models, mode, index and sections (`sculpt generate`)
  DraftParams draft;              // the drafter's decoding
  SpanParams spans;               // which draft tokens the refiner re-masks
  RefineParams refine;            // the refiner's denoising
  RetrievalParams retrieval;      // retrievers, chunking, injection (`sculpt index`, `sculpt search`)
  DistributedParams distributed;  // batch generation sharded over `sculpt launch` ranks

  template <class V>
  void visit(V& v) {
    v.section("runtime", runtime, "threads, seeds and the weights' dtype");
    v.section("pipeline", pipeline, "the hybrid pipeline: mode, models, index, long documents");
    v.section("draft", draft, "autoregressive drafting");
    v.section("spans", spans, "span selection: which draft tokens are re-masked");
    v.section("refine", refine, "masked-diffusion refinement");
    v.section("retrieval", retrieval, "passage retrieval and context injection");
    v.section("distributed", distributed, "multi-process runs: rendezvous timeout");
  }
};

}  // namespace sculpt
