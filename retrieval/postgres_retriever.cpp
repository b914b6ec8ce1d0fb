// libpq-backed retrieval (see postgres_retriever.h).
#include "retrieval/postgres_retriever.h"

#include <libpq-fe.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "retrieval/index_file.h"
#include "retrieval/text_analyzer.h"

namespace sculpt {
namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || s.size() > 63 || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

std::string first_line(const char* text) {
  std::string s = text ? text : "";
  s = s.substr(0, s.find('\n'));
  return s.empty() ? "unknown error" : s;
}

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

void ignore_notice(void*, const char*) {}  // "query contains only stop words" and the like

}  // namespace

struct PostgresRetriever::Connection {
  PGconn* conn = nullptr;
  std::string where;  // "postgres 127.0.0.1:5432/sculpt", for messages (never the password)
  int attempts = 1;
  int retry_delay_ms = 0;
  int statement_timeout_ms = 0;

  ~Connection() {
    if (conn) PQfinish(conn);
  }

  // Per-session settings, again after every reconnection.
  void configure() {
    PQsetNoticeProcessor(conn, ignore_notice, nullptr);
    if (statement_timeout_ms > 0) run("SET statement_timeout = " + std::to_string(statement_timeout_ms));
  }

  // Brings a lost connection back with PQreset, at most `attempts` times; throws Error otherwise,
  // so a server that went down costs a bounded wait, never a hang.
  void ensure_connected() {
    if (PQstatus(conn) == CONNECTION_OK) return;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      PQreset(conn);
      if (PQstatus(conn) == CONNECTION_OK) {
        configure();
        return;
      }
      if (attempt < attempts) std::this_thread::sleep_for(std::chrono::milliseconds(retry_delay_ms));
    }
    fail(where, "connection lost and ", attempts, " reconnection attempt(s) failed: ", first_line(PQerrorMessage(conn)));
  }

  // Runs a statement; throws Error naming the server and statement on failure.
  ResultPtr run(const std::string& sql, const std::vector<std::string>& args = {}) const {
    std::vector<const char*> values;
    for (const std::string& a : args) values.push_back(a.c_str());
    ResultPtr r(PQexecParams(conn, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr, nullptr, 0), &PQclear);
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      fail(where, first_line(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn)), " (in: ",
           sql.substr(0, sql.find(' ', 20)), " ...)");
    return r;
  }

  ResultPtr exec(const std::string& sql, const std::vector<std::string>& args = {}) {
    ensure_connected();
    return run(sql, args);
  }

  // For statements that may simply be repeated (reads): if the connection broke during the
  // call, reconnect (bounded) and run it once more.
  ResultPtr exec_read(const std::string& sql, const std::vector<std::string>& args = {}) {
    ensure_connected();
    try {
      return run(sql, args);
    } catch (const Error&) {
      if (PQstatus(conn) != CONNECTION_BAD) throw;
    }
    ensure_connected();
    return run(sql, args);
  }
};

void PostgresParams::validate() const {
  if (!is_identifier(table)) fail("table", "'", table, "' is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63)");
  if (!is_identifier(text_search_config))
    fail("text_search_config", "'", text_search_config, "' is not a lower-case SQL identifier");
}

PostgresRetriever::PostgresRetriever(const PostgresParams& params, const ChunkParams& chunk)
    : params_(params), chunk_(chunk) {
  params_.validate();
  chunk_.validate();
  std::string conninfo = params_.conninfo;
  if (conninfo.empty())
    if (const char* env = std::getenv("SCULPT_PG_CONNINFO")) conninfo = env;
  // connect_timeout first: a value inside the connection string, expanded later, wins.
  const std::string timeout = std::to_string(params_.connect_timeout);
  // TCP keepalives: a server whose machine vanished is noticed within about a minute.
  std::vector<const char*> keys = {"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                   "keepalives_interval", "keepalives_count"};
  std::vector<const char*> values = {timeout.c_str(), "sculpt", "1", "30", "10", "3"};
  if (!conninfo.empty()) {
    keys.push_back("dbname");
    values.push_back(conninfo.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  std::string last_error;
  for (int attempt = 1; attempt <= params_.connect_attempts; ++attempt) {
    PGconn* c = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (c && PQstatus(c) == CONNECTION_OK) {
      conn_ = std::make_unique<Connection>();
      conn_->conn = c;
      conn_->where = str_cat("postgres ", PQhost(c), ":", PQport(c), "/", PQdb(c));
      conn_->attempts = params_.connect_attempts;
      conn_->retry_delay_ms = params_.retry_delay_ms;
      conn_->statement_timeout_ms = params_.statement_timeout_ms;
      break;
    }
    last_error = first_line(c ? PQerrorMessage(c) : "out of memory");
    if (c) PQfinish(c);
    if (attempt < params_.connect_attempts)
      std::this_thread::sleep_for(std::chrono::milliseconds(params_.retry_delay_ms));
  }
  if (!conn_)
    fail("postgres", "cannot connect after ", params_.connect_attempts, " attempt(s) (connect_timeout ",
         params_.connect_timeout, " s): ", last_error);
  conn_->configure();
  // Several processes may create the same table at once: serialise on an advisory lock.
  const std::string& t = params_.table;
  conn_->exec("BEGIN");
  try {
    conn_->exec("SELECT pg_advisory_xact_lock(hashtext($1))", {t});
    conn_->exec("CREATE TABLE IF NOT EXISTS " + t +
                " (id bigserial PRIMARY KEY, doc_id text NOT NULL, start_offset bigint NOT NULL,"
                " end_offset bigint NOT NULL, body text NOT NULL, tsv tsvector NOT NULL)");
    conn_->exec("CREATE INDEX IF NOT EXISTS " + t + "_tsv ON " + t + " USING GIN (tsv)");
    conn_->exec("CREATE INDEX IF NOT EXISTS " + t + "_doc ON " + t + " (doc_id)");
    conn_->exec("COMMIT");
  } catch (...) {
    PQclear(PQexec(conn_->conn, "ROLLBACK"));
    throw;
  }
}

PostgresRetriever::~PostgresRetriever() = default;

void PostgresRetriever::add(const std::vector<Document>& docs) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string& t = params_.table;
  std::unordered_set<std::string> seen;
  for (const Document& d : docs) {
    if (d.id.empty()) fail("add documents", "a document has an empty id");
    if (!seen.insert(d.id).second) fail("add documents", "document '", d.id, "' appears twice");
  }
  conn_->exec("BEGIN");
  try {
    conn_->exec("SELECT pg_advisory_xact_lock(hashtext($1))", {t});
    for (const Document& d : docs)
      if (PQntuples(conn_->exec("SELECT 1 FROM " + t + " WHERE doc_id = $1 LIMIT 1", {d.id}).get()) > 0)
        fail("add documents", "document '", d.id, "' is already in the index");
    const std::string insert = "INSERT INTO " + t +
                               " (doc_id, start_offset, end_offset, body, tsv)"
                               " VALUES ($1, $2, $3, $4, to_tsvector($5::regconfig, $4))";
    for (const Document& d : docs)
      for (const Passage& p : chunk_document(d, chunk_))
        conn_->exec(insert, {p.doc_id, std::to_string(p.start), std::to_string(p.end), p.text, params_.text_search_config});
    conn_->exec("COMMIT");
  } catch (...) {
    PQclear(PQexec(conn_->conn, "ROLLBACK"));
    throw;
  }
}

std::vector<Hit> PostgresRetriever::search(const std::string& query, size_t k) const {
  const std::vector<WordSpan> words = split_words(query);
  if (k == 0 || words.empty()) return {};
  // Any-word matching: the words joined by websearch's "or"; quotes and minus signs are dropped.
  std::string q = query;
  if (!params_.match_all) {
    q.clear();
    for (const WordSpan& w : words) {
      std::string word = query.substr(w.start, w.end - w.start);
      if (word == "or" || word == "OR") continue;
      q += (q.empty() ? "" : " or ") + word;
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ResultPtr r = conn_->exec_read("SELECT id, doc_id, start_offset, end_offset, body, ts_rank_cd(tsv, q) AS score FROM " +
                                params_.table + ", websearch_to_tsquery($1::regconfig, $2) q WHERE tsv @@ q"
                                " ORDER BY score DESC, id LIMIT $3",
                            {params_.text_search_config, q, std::to_string(k)});
  std::vector<Hit> hits;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Hit h;
    h.passage_id = std::strtoull(PQgetvalue(r.get(), i, 0), nullptr, 10);
    h.doc_id = PQgetvalue(r.get(), i, 1);
    h.start = std::strtoull(PQgetvalue(r.get(), i, 2), nullptr, 10);
    h.end = std::strtoull(PQgetvalue(r.get(), i, 3), nullptr, 10);
    h.text.assign(PQgetvalue(r.get(), i, 4), size_t(PQgetlength(r.get(), i, 4)));
    h.score = std::strtod(PQgetvalue(r.get(), i, 5), nullptr);
    hits.push_back(std::move(h));
  }
  return hits;
}

size_t PostgresRetriever::n_passages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::strtoull(PQgetvalue(conn_->exec_read("SELECT count(*) FROM " + params_.table).get(), 0, 0), nullptr, 10);
}

size_t PostgresRetriever::n_documents() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::strtoull(PQgetvalue(conn_->exec_read("SELECT count(DISTINCT doc_id) FROM " + params_.table).get(), 0, 0),
                       nullptr, 10);
}

void PostgresRetriever::save(const std::string& path) const {
  ByteWriter w;
  w.str(params_.conninfo);
  w.str(params_.table);
  w.str(params_.text_search_config);
  w.u8(params_.match_all);
  w.u32(uint32_t(chunk_.max_tokens));
  w.u32(uint32_t(chunk_.overlap));
  write_index_file(path, backend(), w.bytes());
}

std::unique_ptr<PostgresRetriever> PostgresRetriever::load(const std::string& path, const PostgresParams& params) {
  IndexFile f = read_index_file(path);
  if (f.backend != "postgres") fail(path, "is a '", f.backend, "' index, not a postgres one");
  ByteReader r(f.payload, path);
  PostgresParams p = params;
  std::string saved_conninfo = r.str();
  if (p.conninfo.empty()) p.conninfo = saved_conninfo;
  p.table = r.str();
  p.text_search_config = r.str();
  p.match_all = r.u8() != 0;
  ChunkParams chunk;
  chunk.max_tokens = int(r.u32());
  chunk.overlap = int(r.u32());
  r.expect_end();
  try {
    p.validate();
    chunk.validate();
  } catch (const Error& e) {
    r.corrupt(e.what());
  }
  return std::make_unique<PostgresRetriever>(p, chunk);
}

}  // namespace sculpt
