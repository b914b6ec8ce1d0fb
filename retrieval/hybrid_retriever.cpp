// BM25 + dense with reciprocal-rank fusion (see hybrid_retriever.h).
#include "retrieval/hybrid_retriever.h"

#include <algorithm>

#include "core/error.h"
#include "retrieval/rank_fusion.h"

namespace sculpt {
namespace {

// The payload holds the two sub-payloads, each length-prefixed.
struct Parts {
  std::string bm25, dense;
};

Parts read_parts(const std::string& path) {
  IndexFile f = read_index_file(path);
  if (f.backend != "hybrid") fail(path, "is a '", f.backend, "' index, not a hybrid one");
  ByteReader r(f.payload, path);
  Parts p;
  p.bm25 = r.str();
  p.dense = r.str();
  r.expect_end();
  return p;
}

}  // namespace

HybridRetriever::HybridRetriever(std::unique_ptr<Bm25Retriever> bm25, std::unique_ptr<DenseRetriever> dense,
                                 const HybridParams& params)
    : bm25_(std::move(bm25)), dense_(std::move(dense)), params_(params) {
  if (!bm25_ || !dense_) fail("hybrid retrieval", "needs both a BM25 and a dense index");
  if (bm25_->n_passages() != dense_->n_passages())
    fail("hybrid retrieval", "the BM25 index has ", bm25_->n_passages(), " passages but the dense one ",
         dense_->n_passages());
}

void HybridRetriever::add(const std::vector<Document>& docs) {
  // Dense first: it can fail late (in the model) and then changes nothing; it checks the ids
  // exactly as BM25 does, so BM25 cannot then refuse them.
  dense_->add(docs);
  bm25_->add(docs);
}

std::vector<Hit> HybridRetriever::search(const std::string& query, size_t k) const {
  if (k == 0) return {};
  const size_t depth = std::max(k, size_t(params_.depth));
  return fuse_reciprocal_rank({bm25_->search(query, depth), dense_->search(query, depth)}, params_.rrf_k, k);
}

void HybridRetriever::save(const std::string& path) const {
  ByteWriter b, d, w;
  bm25_->write(b);
  dense_->write(d);
  w.str(b.bytes());
  w.str(d.bytes());
  write_index_file(path, backend(), w.bytes());
}

std::string HybridRetriever::saved_model(const std::string& path) {
  Parts p = read_parts(path);
  return DenseRetriever::read_model(ByteReader(p.dense, path));
}

std::unique_ptr<HybridRetriever> HybridRetriever::load(const std::string& path, std::shared_ptr<const Embedder> embedder,
                                                       const HybridParams& params) {
  Parts p = read_parts(path);
  ByteReader rb(p.bm25, path), rd(p.dense, path);
  auto bm25 = Bm25Retriever::read(rb);
  auto dense = DenseRetriever::read(rd, std::move(embedder));
  rd.expect_end();
  if (bm25->n_passages() != dense->n_passages())
    fail(path, "corrupt index: ", bm25->n_passages(), " BM25 passages but ", dense->n_passages(), " dense ones");
  for (size_t i = 0; i < bm25->n_passages(); ++i) {
    const Passage &a = bm25->passages()[i], &b = dense->passages()[i];
    if (a.doc_id != b.doc_id || a.start != b.start || a.end != b.end)
      fail(path, "corrupt index: BM25 and dense passages differ at passage ", i);
  }
  return std::make_unique<HybridRetriever>(std::move(bm25), std::move(dense), params);
}

}  // namespace sculpt
