// The same retrieval behaviour, checked against every backend: BM25, dense and hybrid (with a
// bag-of-words test embedder) and PostgreSQL (a real server started for the suite). Plus the
// registry: backends by name, a user's own backend, and a server that is down.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "core/config.h"
#include "core/error.h"
#include "retrieval/bm25_index.h"
#include "retrieval/dense_index.h"
#include "retrieval/hybrid_retriever.h"
#include "retrieval/postgres_retriever.h"
#include "retrieval/fake_embedder.h"
#include "retrieval/index_file.h"
#include "retrieval/postgres_server.h"
#include "retrieval/retriever_registry.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::PostgresServer;
using sculpt::testing::TempDir;

std::vector<Document> corpus() {
  std::vector<Document> docs;
  for (int i = 0; i < 12; ++i) docs.push_back({"doc" + std::to_string(i), sculpt::testing::make_document(uint32_t(i), 10)});
  docs.push_back({"zebra", "The zebra crossed the savannah at dawn.\nLions watched the zebra from the tall grass."});
  docs.push_back({"glacier", "A glacier carves the valley over centuries. Meltwater feeds the fjord below the glacier."});
  return docs;
}

class RetrieverBehaviour : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    delete server_;  // stops the server even when tests failed
    server_ = nullptr;
  }

  void SetUp() override {
    if (GetParam() != "postgres") return;
    if (!PostgresServer::binaries_present())
      GTEST_SKIP() << "PostgreSQL server binaries not found in " << PostgresServer::kBinDir
                   << " (Debian package postgresql-15); skipping the PostgreSQL backend";
    // Started on first use, so a process running only other backends' tests starts no server.
    if (!server_ && server_error_.empty()) {
      try {
        server_ = new PostgresServer();
      } catch (const std::exception& e) {
        server_error_ = e.what();
      }
    }
    ASSERT_NE(server_, nullptr) << "the PostgreSQL test server did not start: " << server_error_;
  }

  // A new, empty retriever of the backend under test (for PostgreSQL: a new table).
  std::unique_ptr<Retriever> make() {
    ChunkParams chunk;
    chunk.max_tokens = 24;
    chunk.overlap = 4;
    auto embedder = std::make_shared<sculpt::testing::HashingEmbedder>(256);
    const std::string& b = GetParam();
    if (b == "bm25") return std::make_unique<Bm25Retriever>(Bm25Params{}, chunk);
    if (b == "dense") return std::make_unique<DenseRetriever>(embedder, chunk);
    if (b == "hybrid")
      return std::make_unique<HybridRetriever>(std::make_unique<Bm25Retriever>(Bm25Params{}, chunk),
                                               std::make_unique<DenseRetriever>(embedder, chunk), HybridParams{});
    PostgresParams p;
    p.conninfo = server_->conninfo();
    p.table = "passages_" + std::to_string(++n_tables_);
    return std::make_unique<PostgresRetriever>(p, chunk);
  }

  // Saves `r` and reads it back the way its backend is read.
  std::unique_ptr<Retriever> reload(const Retriever& r, const std::string& path) {
    r.save(path);
    auto embedder = std::make_shared<sculpt::testing::HashingEmbedder>(256);
    const std::string& b = GetParam();
    if (b == "bm25") return Bm25Retriever::load(path);
    if (b == "dense") return DenseRetriever::load(path, embedder);
    if (b == "hybrid") return HybridRetriever::load(path, embedder, HybridParams{});
    return PostgresRetriever::load(path, PostgresParams{});
  }

  static PostgresServer* server_;
  static std::string server_error_;
  static int n_tables_;
};
PostgresServer* RetrieverBehaviour::server_ = nullptr;
std::string RetrieverBehaviour::server_error_;
int RetrieverBehaviour::n_tables_ = 0;

TEST_P(RetrieverBehaviour, ARareWordFindsItsDocumentFirst) {
  auto r = make();
  r->add(corpus());
  EXPECT_EQ(r->n_documents(), 14u);
  EXPECT_GT(r->n_passages(), 14u);
  const std::vector<Hit> zebra = r->search("zebra savannah", 3);
  ASSERT_FALSE(zebra.empty());
  EXPECT_EQ(zebra[0].doc_id, "zebra");
  const std::vector<Hit> fjord = r->search("meltwater and the fjord", 3);
  ASSERT_FALSE(fjord.empty());
  EXPECT_EQ(fjord[0].doc_id, "glacier");
}

TEST_P(RetrieverBehaviour, HitsComeBestFirstAtMostKAndQuoteTheirSourceExactly) {
  auto r = make();
  const std::vector<Document> docs = corpus();
  r->add(docs);
  for (size_t k : {1, 3, 8}) {
    const std::vector<Hit> hits = r->search("the sailor repairs the harbour", k);
    ASSERT_FALSE(hits.empty());
    EXPECT_LE(hits.size(), k);
    for (size_t i = 0; i < hits.size(); ++i) {
      if (i) {
        EXPECT_GE(hits[i - 1].score, hits[i].score);
      }
      auto doc = std::find_if(docs.begin(), docs.end(), [&](const Document& d) { return d.id == hits[i].doc_id; });
      ASSERT_NE(doc, docs.end());
      EXPECT_EQ(doc->text.substr(hits[i].start, hits[i].end - hits[i].start), hits[i].text);
    }
  }
}

TEST_P(RetrieverBehaviour, AQueryWithoutWordsOrKZeroGivesNoHits) {
  auto r = make();
  r->add(corpus());
  EXPECT_TRUE(r->search(" ?! -- ", 5).empty());
  EXPECT_TRUE(r->search("", 5).empty());
  EXPECT_TRUE(r->search("zebra", 0).empty());
}

TEST_P(RetrieverBehaviour, ASavedIndexLoadsAndAnswersTheSame) {
  TempDir dir;
  auto r = make();
  r->add(corpus());
  auto loaded = reload(*r, dir.file("saved.idx"));
  EXPECT_EQ(loaded->backend(), GetParam());
  EXPECT_EQ(loaded->n_passages(), r->n_passages());
  for (const char* q : {"zebra", "a student describes the weather", "glacier valley"}) {
    const auto a = r->search(q, 5), b = loaded->search(q, 5);
    ASSERT_EQ(a.size(), b.size()) << q;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].passage_id, b[i].passage_id) << q;
      EXPECT_DOUBLE_EQ(a[i].score, b[i].score) << q;
    }
  }
}

TEST_P(RetrieverBehaviour, AddingInStepsEqualsAddingAtOnce) {
  const std::vector<Document> docs = corpus();
  auto once = make();
  once->add(docs);
  auto steps = make();
  steps->add({docs.begin(), docs.begin() + 5});
  steps->add({docs.begin() + 5, docs.end()});
  EXPECT_EQ(once->n_passages(), steps->n_passages());
  for (const char* q : {"zebra lions", "the committee sells olive oil", "museum"}) {
    const auto a = once->search(q, 6), b = steps->search(q, 6);
    ASSERT_EQ(a.size(), b.size()) << q;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].doc_id, b[i].doc_id) << q;
      EXPECT_EQ(a[i].start, b[i].start) << q;
      EXPECT_NEAR(a[i].score, b[i].score, 1e-9) << q;
    }
  }
}

TEST_P(RetrieverBehaviour, ARepeatedDocumentIsRefusedAndNothingIsAdded) {
  auto r = make();
  r->add(corpus());
  const size_t n = r->n_passages();
  try {
    r->add({{"okapi", "An okapi is a forest giraffe."}, {"zebra", "again"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'zebra' is already in the index"));
  }
  EXPECT_EQ(r->n_passages(), n);
  EXPECT_EQ(r->n_documents(), 14u);
  for (const Hit& h : r->search("okapi giraffe", 5)) EXPECT_NE(h.doc_id, "okapi");
}

INSTANTIATE_TEST_SUITE_P(Backends, RetrieverBehaviour, ::testing::Values("bm25", "dense", "hybrid", "postgres"),
                         [](const auto& info) { return info.param; });

// A user's own backend: exact substring match, saved as the list of its documents.
class SubstringRetriever : public Retriever {
 public:
  std::string backend() const override { return "substring"; }
  void add(const std::vector<Document>& docs) override { docs_.insert(docs_.end(), docs.begin(), docs.end()); }
  std::vector<Hit> search(const std::string& query, size_t k) const override {
    std::vector<Hit> hits;
    for (size_t i = 0; i < docs_.size() && hits.size() < k; ++i)
      if (!query.empty() && docs_[i].text.find(query) != std::string::npos)
        hits.push_back(Hit{i, docs_[i].id, 0, docs_[i].text.size(), docs_[i].text, 1.0});
    return hits;
  }
  size_t n_passages() const override { return docs_.size(); }
  size_t n_documents() const override { return docs_.size(); }
  void save(const std::string& path) const override {
    ByteWriter w;
    w.u64(docs_.size());
    for (const Document& d : docs_) {
      w.str(d.id);
      w.str(d.text);
    }
    write_index_file(path, backend(), w.bytes());
  }
  static std::unique_ptr<Retriever> load(const std::string& path) {
    IndexFile f = read_index_file(path);
    ByteReader r(f.payload, path);
    auto out = std::make_unique<SubstringRetriever>();
    for (uint64_t i = 0, n = r.count(16, "document"); i < n; ++i) {
      std::string id = r.str();
      out->docs_.push_back({id, r.str()});
    }
    return out;
  }

 private:
  std::vector<Document> docs_;
};

TEST(RetrieverRegistryTest, AConfigPicksABackendByNameWithItsParameters) {
  RetrievalParams p;
  load_config_string("backend: hybrid\nk: 3\nhybrid: {rrf_k: 10, depth: 20}\nbm25: {k1: 0.9, analyzer: {stemming: false}}\n",
                     "retrieval.yaml", p);
  EXPECT_EQ(p.backend, "hybrid");
  EXPECT_EQ(p.k, 3);
  EXPECT_EQ(p.hybrid.rrf_k, 10);
  EXPECT_EQ(p.bm25.k1, 0.9);
  EXPECT_FALSE(p.bm25.analyzer.stemming);
  EXPECT_THROW(load_config_string("chunk: {max_tokens: 8, overlap: 8}\n", "bad.yaml", p), Error);
  EXPECT_THROW(load_config_string("postgres: {table: \"x; DROP TABLE y\"}\n", "bad.yaml", p), Error);

  RetrievalParams bm25;
  std::unique_ptr<Retriever> r = make_retriever(bm25);
  EXPECT_EQ(r->backend(), "bm25");
  bm25.backend = "nope";
  try {
    make_retriever(bm25);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown retrieval backend 'nope' (registered: bm25, dense, hybrid, postgres"));
  }
}

TEST(RetrieverRegistryTest, AUserBackendIsCreatedAndLoadedByName) {
  register_retriever(
      "substring", [](const RetrievalParams&) { return std::make_unique<SubstringRetriever>(); },
      [](const std::string& path, const RetrievalParams&) { return SubstringRetriever::load(path); });
  EXPECT_THAT(registered_retrievers(), ::testing::Contains("substring"));
  RetrievalParams p;
  p.backend = "substring";
  std::unique_ptr<Retriever> r = make_retriever(p);
  r->add({{"a", "needle in a haystack"}, {"b", "hay only"}});
  TempDir dir;
  r->save(dir.file("s.idx"));
  std::unique_ptr<Retriever> loaded = load_retriever(dir.file("s.idx"));
  EXPECT_EQ(loaded->backend(), "substring");
  ASSERT_EQ(loaded->search("needle", 5).size(), 1u);
  EXPECT_EQ(loaded->search("needle", 5)[0].doc_id, "a");
}

TEST(RetrieverRegistryTest, LoadingDispatchesOnTheBackendInTheFile) {
  TempDir dir;
  RetrievalParams p;
  std::unique_ptr<Retriever> r = make_retriever(p);
  r->add({{"a", "alpha beta"}, {"b", "gamma delta"}});
  r->save(dir.file("x.idx"));
  std::unique_ptr<Retriever> loaded = load_retriever(dir.file("x.idx"), p);
  EXPECT_EQ(loaded->backend(), "bm25");
  EXPECT_EQ(loaded->search("gamma", 1).at(0).doc_id, "b");
  write_index_file(dir.file("alien.idx"), "alien", "");
  EXPECT_THROW(load_retriever(dir.file("alien.idx")), Error);
}

TEST(RetrieverRegistryTest, AServerThatIsDownIsAClearErrorAfterABoundedRetry) {
  PostgresParams p;
  p.conninfo = "host=127.0.0.1 port=" + std::to_string(PostgresServer::free_port()) + " dbname=x user=x";
  p.connect_attempts = 3;
  p.retry_delay_ms = 100;
  p.connect_timeout = 2;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    PostgresRetriever r(p, ChunkParams{});
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("postgres: cannot connect after 3 attempt(s)"));
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1"));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(seconds, 0.2);   // it did wait between attempts
  EXPECT_LT(seconds, 10.0);  // and gave up
}

TEST(PostgresServerTest, AServerThatGoesDownMidSessionIsAClearErrorAndComesBack) {
  if (!PostgresServer::binaries_present())
    GTEST_SKIP() << "PostgreSQL server binaries not found in " << PostgresServer::kBinDir << "; skipping";
  PostgresServer server;
  PostgresParams p;
  p.conninfo = server.conninfo();
  p.connect_attempts = 2;
  p.retry_delay_ms = 100;
  PostgresRetriever r(p, ChunkParams{});
  r.add({{"zebra", "The zebra crossed the savannah."}});
  ASSERT_EQ(r.search("zebra", 1).size(), 1u);
  server.stop("fast");
  const auto t0 = std::chrono::steady_clock::now();
  try {
    r.search("zebra", 1);
    FAIL() << "searched a stopped server";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("postgres 127.0.0.1:"));
    EXPECT_THAT(e.what(), HasSubstr("reconnection attempt(s) failed"));
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  server.start();
  const std::vector<Hit> hits = r.search("zebra", 1);  // the same retriever reconnects
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "zebra");
}

}  // namespace
}  // namespace sculpt
