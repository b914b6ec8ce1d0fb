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

#include "core/config.h"
#include "retrieval/chunker.h"
#include "retrieval/retriever.h"

namespace sculpt {

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
