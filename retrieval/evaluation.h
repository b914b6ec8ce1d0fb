// Retrieval quality and speed on a query set: recall@k and mean reciprocal rank over documents
// (a document counts at the rank of its best passage), and per-query latency percentiles.
//
//   std::vector<EvalQuery> qs = read_eval_queries("data/brown-queries.jsonl");
//   RetrievalReport rep = evaluate_retriever(*retriever, qs, {1, 5, 10}, /*depth=*/50);
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "retrieval/passage.h"
#include "retrieval/retriever.h"

namespace sculpt {

// One JSONL line: {"query": "...", "relevant": ["doc id", ...]}.
struct EvalQuery {
  std::string query;
  std::vector<std::string> relevant;
};

// Throws Error naming file:line for a malformed line, and for a file without queries.
std::vector<EvalQuery> read_eval_queries(const std::string& path);

// The distinct document ids of `hits`, in order of first appearance.
std::vector<std::string> ranked_documents(const std::vector<Hit>& hits);

// |relevant ∩ ranked[0, k)| / |relevant|.
double recall_at(const std::vector<std::string>& ranked, const std::vector<std::string>& relevant, size_t k);

// 1 / (1-based rank of the first relevant document), 0 if none is ranked.
double reciprocal_rank(const std::vector<std::string>& ranked, const std::vector<std::string>& relevant);

// The nearest-rank percentile (p in [0, 100]) of `values`; 0 for none.
double percentile(std::vector<double> values, double p);

struct RetrievalReport {
  size_t n_queries = 0;
  std::vector<std::pair<size_t, double>> recall;  // (k, mean recall@k)
  double mrr = 0;                                  // mean reciprocal rank within `depth` passages
  std::vector<double> latency_ms;                  // per query, search() only
};

// Runs every query once with search(query, depth). Queries run one after another.
RetrievalReport evaluate_retriever(const Retriever& retriever, const std::vector<EvalQuery>& queries,
                                   const std::vector<size_t>& ks, size_t depth);

}  // namespace sculpt
