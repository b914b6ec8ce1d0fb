// The models and index a pipeline test needs, made in its set-up: the templated corpus and its
// tokenizer, a tiny drafter and a tiny bidirectional refiner (contexts of 64 tokens, so long
// documents are easy to make), and a BM25 index of the same documents at <dir>/index.bm25.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "retrieval/retriever_registry.h"
#include "support/fixture_cache.h"
#include "support/tiny_models.h"

namespace sculpt::testing {

// Made once per build of the test program (support/fixture_cache.h).
inline void make_tiny_pipeline_models(const TempDir& dir) {
  cached_fixture("pipeline_models", dir, [](const TempDir& d) {
    make_template_corpus(d, 200);
    train_tiny_model(d, "drafter", AttentionMode::kCausal, 150, /*hidden=*/48, /*context=*/64, /*seq_len=*/32);
    train_tiny_model(d, "refiner", AttentionMode::kBidirectional, 250, 48, 64, 32);
    std::vector<Document> docs;
    for (int i = 0; i < 200; ++i) docs.push_back({"doc_" + std::to_string(1000 + i), make_document(uint32_t(i), 6)});
    std::unique_ptr<Retriever> index = make_retriever(RetrievalParams{});
    index->add(docs);
    index->save(d.file("index.bm25"));
  });
}

// <dir>/pipeline.yaml over those models: sampled drafting, spans below log p -0.5, BM25
// retrieval of one passage; the refinement steps, injection budget and any further pipeline
// keys (`extra_pipeline`, e.g. "  max_tokens: 30\n") are the caller's.
inline std::string write_tiny_pipeline_config(const TempDir& dir, int refine_steps, int budget_tokens,
                                              const std::string& extra_pipeline = "") {
  const std::string path = dir.file("pipeline.yaml");
  write_file(path, "runtime: {seed: 1, n_threads: 2}\n"
                   "pipeline:\n  drafter: " + dir.file("drafter") + "\n  refiner: " + dir.file("refiner") +
                   "\n  index: " + dir.file("index.bm25") + "\n" + extra_pipeline +
                   "draft: {stop_at_eos: false, sampler: {temperature: 0.8, seed: 3}}\n"
                   "spans: {strategy: logprob, logprob_threshold: -0.5, max_fraction: 0.5}\n"
                   "refine: {steps: " + std::to_string(refine_steps) + "}\n"
                   "retrieval: {k: 3, inject: {budget_tokens: " + std::to_string(budget_tokens) + ", max_passages: 1}}\n");
  return path;
}

}  // namespace sculpt::testing
