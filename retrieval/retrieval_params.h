// RetrievalParams: the `retrieval:` section of a Sculpt config. It names the backend the
// registry builds and carries every built-in backend's params, the chunking and the injection.
//
//   retrieval:
//     backend: hybrid
//     dense: {model: models/drafter}
//     inject: {budget_tokens: 128}
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "retrieval/bm25_index.h"
#include "retrieval/chunker.h"
#include "retrieval/context_injector.h"
#include "retrieval/dense_index.h"
#include "retrieval/hybrid_retriever.h"
#include "retrieval/postgres_retriever.h"

namespace sculpt {

struct RetrievalParams {
  std::string backend = "bm25";      // registry name: bm25, dense, hybrid, postgres, or one you registered
  int k = 5;                         // passages retrieved per query
  ChunkParams chunk;                 // how documents become passages
  Bm25Params bm25;                   // backend bm25 (and the BM25 half of hybrid)
  DenseParams dense;                 // backend dense (and the dense half of hybrid)
  HybridParams hybrid;               // backend hybrid
  PostgresParams postgres;           // backend postgres
  InjectParams inject;               // passages into the refiner's frozen context
  std::vector<std::string> options;  // key=value settings for a user-registered backend

  template <class V>
  void visit(V& v) {
    v.field("backend", backend, "retriever: bm25, dense, hybrid, postgres, or a registered name");
    v.field("k", k, "passages retrieved per query", Range{1, 1 << 20});
    v.section("chunk", chunk, "documents into passages");
    v.section("bm25", bm25, "Okapi BM25 inverted index");
    v.section("dense", dense, "transformer embeddings, exact cosine top-k");
    v.section("hybrid", hybrid, "reciprocal-rank fusion of bm25 and dense");
    v.section("postgres", postgres, "PostgreSQL full-text search through libpq");
    v.section("inject", inject, "retrieved passages into the refiner's frozen context");
    v.field("options", options, "key=value settings for a user-registered backend");
  }
};

}  // namespace sculpt
