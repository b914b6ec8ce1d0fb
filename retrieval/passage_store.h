// The passages of a file-backed index, in the order they were added (their ids), with the set
// of document ids already present. BM25 and dense indexes keep one each; passage ids agree
// between them when they are fed the same documents with the same chunking.
//
//   PassageStore store;
//   size_t first = store.add(docs, chunk_params);   // ids [first, store.size()) are new
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "retrieval/chunker.h"
#include "retrieval/index_file.h"
#include "retrieval/passage.h"

namespace sculpt {

class PassageStore {
 public:
  // Chunks and appends the documents; returns the id of the first new passage. Throws Error,
  // before changing anything, if a document id is empty, repeated, or already stored.
  size_t add(const std::vector<Document>& docs, const ChunkParams& chunk);

  size_t size() const { return passages_.size(); }
  size_t n_documents() const { return doc_ids_.size(); }
  const Passage& operator[](size_t id) const { return passages_[id]; }
  bool contains(const std::string& doc_id) const { return doc_ids_.count(doc_id) != 0; }
  Hit hit(size_t id, double score) const;

  void write(ByteWriter& w) const;
  static PassageStore read(ByteReader& r);

 private:
  std::vector<Passage> passages_;
  std::vector<std::string> doc_order_;  // every document id, in the order added
  std::unordered_set<std::string> doc_ids_;
};

}  // namespace sculpt
