// RetrievalParams: the `retrieval:` section of a pipeline config. It names the backend the
// registry builds and carries every built-in backend's params, the chunking and the injection,
// with their defaults.
//
//   retrieval:
//     backend: hybrid
//     dense: {model: models/drafter}
//     inject: {budget_tokens: 128}
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

struct AnalyzerParams {
  bool stop_words = true;             // drop common English function words ("the", "of", ...)
  bool stemming = true;               // Snowball stemming of every term
  std::string language = "english";  // Snowball algorithm name (libstemmer: english, french, ...)

  template <class V>
  void visit(V& v) {
    v.field("stop_words", stop_words, "drop common English function words");
    v.field("stemming", stemming, "Snowball-stem terms (libstemmer)");
    v.field("language", language, "Snowball language for stemming (english, french, german, ...)");
  }
  void validate() const;  // an unknown Snowball language is an error
};

struct Bm25Params {
  double k1 = 1.2;  // term-frequency saturation; 0 = presence only
  double b = 0.75;  // length normalisation; 0 = none, 1 = full
  AnalyzerParams analyzer;

  template <class V>
  void visit(V& v) {
    v.field("k1", k1, "term-frequency saturation; 0 = presence only", Range{0.0, 100.0});
    v.field("b", b, "length normalisation: 0 = none, 1 = full", Range{0.0, 1.0});
    v.section("analyzer", analyzer, "how text becomes terms (saved with the index)");
  }
};

struct ChunkParams {
  int max_tokens = 96;  // words per passage at most
  int overlap = 16;     // words repeated at the start of the next passage; < max_tokens

  template <class V>
  void visit(V& v) {
    v.field("max_tokens", max_tokens, "words per passage at most", Range{1, 1 << 20});
    v.field("overlap", overlap, "words shared by neighbouring passages; less than max_tokens", Range{0, 1 << 20});
  }
  void validate() const;  // overlap < max_tokens
};

struct InjectParams {
  int budget_tokens = 256;         // tokens the whole rendered block may take (separators included)
  int max_passages = 4;            // passages at most; 0 = as many as fit
  std::string separator = "\n\n";  // between passages, and after the last one
  bool cite_source = true;         // prefix each passage with "[doc_id] "
  bool truncate = true;            // cut a passage that does not fit to the words that do

  template <class V>
  void visit(V& v) {
    v.field("budget_tokens", budget_tokens, "tokens the injected passages may take, separators included", Range{0, 1 << 24});
    v.field("max_passages", max_passages, "passages injected at most; 0 = as many as fit", Range{0, 1 << 20});
    v.field("separator", separator, "text between passages and after the last one");
    v.field("cite_source", cite_source, "prefix each passage with [doc_id]");
    v.field("truncate", truncate, "cut a passage that does not fit the budget to the words that do");
  }
};

struct DenseParams {
  std::string model;   // model directory of the embedding transformer; "" = the one saved in the index
  int max_tokens = 256;  // tokens embedded per passage or query (BOS included); 0 = the model's context

  template <class V>
  void visit(V& v) {
    v.field("model", model, "embedding model directory (mean-pooled final hidden states); empty = from the index");
    v.field("max_tokens", max_tokens, "tokens embedded per passage; 0 = the model's context", Range{0, 1 << 20});
  }
};

struct HybridParams {
  double rrf_k = 60;  // the k of 1 / (k + rank); larger flattens the rank weighting
  int depth = 50;     // hits taken from each ranker before fusion (at least the k asked for)

  template <class V>
  void visit(V& v) {
    v.field("rrf_k", rrf_k, "reciprocal-rank fusion constant k in 1/(k + rank)", Range{0.0, 1e6});
    v.field("depth", depth, "hits taken from each ranker before fusion", Range{1, 1 << 20});
  }
};

struct PostgresParams {
  std::string conninfo;                    // libpq connection string or URI; "" = $SCULPT_PG_CONNINFO, else libpq's PG* variables
  std::string table = "sculpt_passages";   // created if missing
  std::string text_search_config = "english";  // PostgreSQL text search configuration (stemming, stop words)
  bool match_all = false;                  // true: every query word must match (websearch default); false: any word
  int connect_timeout = 5;                 // seconds per connection attempt
  int connect_attempts = 3;                // attempts before giving up
  int retry_delay_ms = 500;                // wait between attempts
  int statement_timeout_ms = 30000;        // server-side limit per statement; 0 = none

  template <class V>
  void visit(V& v) {
    v.field("conninfo", conninfo, "libpq connection string or URI; empty = $SCULPT_PG_CONNINFO, else PG* variables");
    v.field("table", table, "passage table (lower-case identifier), created if missing");
    v.field("text_search_config", text_search_config, "PostgreSQL text search configuration");
    v.field("match_all", match_all, "every query word must match; false = any word");
    v.field("connect_timeout", connect_timeout, "seconds per connection attempt", Range{1, 3600});
    v.field("connect_attempts", connect_attempts, "connection attempts before giving up", Range{1, 100});
    v.field("retry_delay_ms", retry_delay_ms, "milliseconds between attempts", Range{0, 600000});
    v.field("statement_timeout_ms", statement_timeout_ms, "server-side limit per statement; 0 = none", Range{0, 1 << 30});
  }
  void validate() const;  // table and config names are plain identifiers
};

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
