// PostgreSQL full-text retrieval, for a corpus shared by many processes or machines: passages
// live in a table with a tsvector column under a GIN index and are ranked by ts_rank_cd over
// websearch_to_tsquery, through libpq. The index "file" only records how to reach the table.
//
//   PostgresParams p;  p.conninfo = "host=127.0.0.1 port=5432 dbname=sculpt";
//   PostgresRetriever r(p, ChunkParams{});          // connects (bounded retry), creates the table
//   r.add(docs);  r.search("jury election", 5);  r.save("shared.idx");
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "retrieval/retrieval_params.h"
#include "retrieval/chunker.h"
#include "retrieval/retriever.h"

namespace sculpt {

class PostgresRetriever : public Retriever {
 public:
  // Connects and creates the table and its indexes if missing. Throws Error after
  // connect_attempts failed attempts, naming the server.
  PostgresRetriever(const PostgresParams& params, const ChunkParams& chunk);
  ~PostgresRetriever() override;

  std::string backend() const override { return "postgres"; }
  // One transaction: all documents are added or none.
  void add(const std::vector<Document>& docs) override;
  // Hits scored by ts_rank_cd; passage ids are the table's ids.
  std::vector<Hit> search(const std::string& query, size_t k) const override;
  size_t n_passages() const override;
  size_t n_documents() const override;
  // Records the connection string as configured (empty when it comes from the environment,
  // so no secret from there is written), the table and the chunking.
  void save(const std::string& path) const override;

  // Reconnects to what `path` records; a non-empty params.conninfo replaces the saved one.
  static std::unique_ptr<PostgresRetriever> load(const std::string& path, const PostgresParams& params);

 private:
  struct Connection;
  PostgresParams params_;
  ChunkParams chunk_;
  std::unique_ptr<Connection> conn_;
  mutable std::mutex mutex_;  // one libpq connection is not safe to share between threads
};

}  // namespace sculpt
