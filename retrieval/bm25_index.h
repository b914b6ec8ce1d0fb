// Okapi BM25 over an in-memory inverted index (Robertson & Zaragoza, "The Probabilistic
// Relevance Framework: BM25 and Beyond", 2009), persisted in the checked container of
// index_file.h. For the distinct terms t of a query and a passage d:
//   score(d) = sum_t idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
//   idf(t)   = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))       (non-negative, as in Lucene)
// with N passages, n(t) of them containing t, |d| the passage's term count.
//
//   Bm25Retriever index(Bm25Params{}, ChunkParams{});
//   index.add(docs);  index.save("brown.idx");
//   Bm25Retriever again = Bm25Retriever::load("brown.idx");
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "retrieval/retrieval_params.h"
#include "retrieval/passage_store.h"
#include "retrieval/retriever.h"
#include "retrieval/text_analyzer.h"

namespace sculpt {

class Bm25Retriever : public Retriever {
 public:
  Bm25Retriever(const Bm25Params& params, const ChunkParams& chunk);

  std::string backend() const override { return "bm25"; }
  void add(const std::vector<Document>& docs) override;
  std::vector<Hit> search(const std::string& query, size_t k) const override;
  size_t n_passages() const override { return store_.size(); }
  size_t n_documents() const override { return store_.n_documents(); }
  void save(const std::string& path) const override;

  // Reads an index written by save(); its params are those it was built with.
  static std::unique_ptr<Bm25Retriever> load(const std::string& path);

  // The payload alone, for containers that hold several indexes (hybrid).
  void write(ByteWriter& w) const;
  static std::unique_ptr<Bm25Retriever> read(ByteReader& r);

  const Bm25Params& params() const { return params_; }
  const PassageStore& passages() const { return store_; }

 private:
  struct Posting {
    uint32_t passage;  // passage id
    uint32_t tf;       // occurrences of the term in it
  };
  void index_passages(size_t first);

  Bm25Params params_;
  ChunkParams chunk_;
  TextAnalyzer analyzer_;
  PassageStore store_;
  std::unordered_map<std::string, uint32_t> term_ids_;
  std::vector<std::vector<Posting>> postings_;  // [term id] -> passages in increasing id order
  std::vector<uint32_t> lengths_;               // [passage id] -> term count
  uint64_t total_length_ = 0;                   // sum of lengths_
};

}  // namespace sculpt
