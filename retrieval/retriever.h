// The retrieval plug-in interface. A Retriever owns an index of passages cut from documents;
// backends (BM25, dense, hybrid, PostgreSQL, or your own) are created and loaded by name through
// the registry in retriever_registry.h.
//
//   std::unique_ptr<Retriever> r = make_retriever(params);   // params.backend = "bm25"
//   r->add(documents);
//   for (const Hit& h : r->search("who won the election", 5)) ...
//   r->save("brown.idx");  auto again = load_retriever("brown.idx", params);
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "retrieval/passage.h"

namespace sculpt {

class Retriever {
 public:
  virtual ~Retriever() = default;

  // The registry name of the backend ("bm25", ...); also written into saved index files.
  virtual std::string backend() const = 0;

  // Chunks `docs` into passages and indexes them, after what is already there (incremental:
  // adding A then B equals adding A and B at once). Throws Error, leaving the index unchanged,
  // if an id is empty, repeated, or already indexed.
  virtual void add(const std::vector<Document>& docs) = 0;

  // At most k hits, best first (ties by passage id). A query without any word, or k = 0, gives
  // no hits. Does not mutate the index; safe to call from several threads at once.
  virtual std::vector<Hit> search(const std::string& query, size_t k) const = 0;

  virtual size_t n_passages() const = 0;
  virtual size_t n_documents() const = 0;

  // Writes the index (or, for a server-backed one, how to reach it) to `path` atomically, in a
  // file that load_retriever() reads back. Throws Error naming the path.
  virtual void save(const std::string& path) const = 0;
};

}  // namespace sculpt
