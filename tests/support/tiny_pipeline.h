// The models and index a pipeline test needs, made in its set-up: the templated corpus and its
// tokenizer, a tiny drafter and a tiny bidirectional refiner (contexts of 64 tokens, so long
// documents are easy to make), and a BM25 index of the same documents at <dir>/index.bm25.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "retrieval/retriever_registry.h"
#include "support/tiny_models.h"

namespace sculpt::testing {

inline void make_tiny_pipeline_models(const TempDir& dir) {
  make_template_corpus(dir, 200);
  train_tiny_model(dir, "drafter", AttentionMode::kCausal, 150, /*hidden=*/48, /*context=*/64, /*seq_len=*/32);
  train_tiny_model(dir, "refiner", AttentionMode::kBidirectional, 250, 48, 64, 32);
  std::vector<Document> docs;
  for (int i = 0; i < 200; ++i) docs.push_back({"doc_" + std::to_string(1000 + i), make_document(uint32_t(i), 6)});
  std::unique_ptr<Retriever> index = make_retriever(RetrievalParams{});
  index->add(docs);
  index->save(dir.file("index.bm25"));
}

}  // namespace sculpt::testing
