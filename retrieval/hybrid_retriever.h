// Hybrid retrieval: a BM25 index and a dense index over the same passages, their top `depth`
// hits fused by reciprocal rank (rank_fusion.h). Saved as one file holding both.
//
//   HybridRetriever h(std::move(bm25), std::move(dense), HybridParams{});
//   h.add(docs);  h.search("a sentence", 5);
#pragma once

#include <memory>

#include "retrieval/retrieval_params.h"
#include "retrieval/bm25_index.h"
#include "retrieval/dense_index.h"

namespace sculpt {

class HybridRetriever : public Retriever {
 public:
  // Both indexes must hold the same passages (both empty, or loaded from one hybrid file).
  HybridRetriever(std::unique_ptr<Bm25Retriever> bm25, std::unique_ptr<DenseRetriever> dense, const HybridParams& params);

  std::string backend() const override { return "hybrid"; }
  void add(const std::vector<Document>& docs) override;
  // Hits scored by fused reciprocal rank.
  std::vector<Hit> search(const std::string& query, size_t k) const override;
  size_t n_passages() const override { return bm25_->n_passages(); }
  size_t n_documents() const override { return bm25_->n_documents(); }
  void save(const std::string& path) const override;

  static std::unique_ptr<HybridRetriever> load(const std::string& path, std::shared_ptr<const Embedder> embedder,
                                               const HybridParams& params);
  static std::string saved_model(const std::string& path);

 private:
  std::unique_ptr<Bm25Retriever> bm25_;
  std::unique_ptr<DenseRetriever> dense_;
  HybridParams params_;
};

}  // namespace sculpt
