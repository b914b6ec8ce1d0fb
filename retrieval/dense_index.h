// Dense retrieval: every passage embedded once (Embedder), the unit vectors held column by
// column in an Eigen matrix, and a query answered by exact cosine similarity against all of them
// (one matrix-vector product, then a partial sort). The vectors and the embedding model's folder
// are saved with the index.
//
//   DenseRetriever index(load_transformer_embedder("models/drafter", 256), DenseParams{}, ChunkParams{});
//   index.add(docs);  index.save("brown.dense");
#pragma once

#include <memory>
#include <string>

#include "retrieval/retrieval_params.h"
#include "retrieval/embedder.h"
#include "retrieval/passage_store.h"
#include "retrieval/retriever.h"

namespace sculpt {

class DenseRetriever : public Retriever {
 public:
  DenseRetriever(std::shared_ptr<const Embedder> embedder, const ChunkParams& chunk);
  ~DenseRetriever() override;

  std::string backend() const override { return "dense"; }
  void add(const std::vector<Document>& docs) override;
  // Hits scored by cosine similarity in [-1, 1].
  std::vector<Hit> search(const std::string& query, size_t k) const override;
  size_t n_passages() const override { return store_.size(); }
  size_t n_documents() const override { return store_.n_documents(); }
  void save(const std::string& path) const override;

  // The embedder must produce vectors of the dimension saved in the file.
  static std::unique_ptr<DenseRetriever> load(const std::string& path, std::shared_ptr<const Embedder> embedder);
  // The model folder saved in the file (to build the embedder before load()).
  static std::string saved_model(const std::string& path);

  void write(ByteWriter& w) const;
  static std::unique_ptr<DenseRetriever> read(ByteReader& r, std::shared_ptr<const Embedder> embedder);
  // Reads only the leading model folder of a payload written by write().
  static std::string read_model(ByteReader r);

  const PassageStore& passages() const { return store_; }

 private:
  struct Vectors;  // Eigen matrix, kept out of the header
  std::shared_ptr<const Embedder> embedder_;
  ChunkParams chunk_;
  PassageStore store_;
  std::unique_ptr<Vectors> vectors_;
};

}  // namespace sculpt
