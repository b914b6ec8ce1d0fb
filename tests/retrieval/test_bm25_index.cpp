// BM25: scores against the Okapi formula by hand, persistence, corruption, incremental adds.
#include "retrieval/bm25_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;
using sculpt::testing::write_file;

Bm25Params plain_params(double k1 = 1.2, double b = 0.75) {
  Bm25Params p;
  p.k1 = k1;
  p.b = b;
  p.analyzer.stop_words = false;
  p.analyzer.stemming = false;
  return p;
}

const std::vector<Document> kTiny = {{"d1", "apple banana apple"}, {"d2", "banana cherry"}, {"d3", "cherry cherry cherry date"}};

std::vector<Document> corpus(int n) {
  std::vector<Document> docs;
  for (int i = 0; i < n; ++i) docs.push_back({"doc" + std::to_string(i), sculpt::testing::make_document(uint32_t(i), 12)});
  return docs;
}

TEST(Bm25Test, ScoresAreTheOkapiFormulaByHand) {
  for (auto [k1, b] : {std::pair{1.2, 0.75}, std::pair{2.0, 0.3}, std::pair{0.5, 1.0}}) {
    Bm25Retriever index(plain_params(k1, b), ChunkParams{});
    index.add(kTiny);
    // N = 3 passages of 3, 2 and 4 terms: avgdl = 3. "apple" is in 1 passage, "cherry" in 2.
    const double idf_apple = std::log(1 + (3 - 1 + 0.5) / (1 + 0.5));
    const double idf_cherry = std::log(1 + (3 - 2 + 0.5) / (2 + 0.5));
    const double d1 = idf_apple * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * 3 / 3.0));
    const double d2 = idf_cherry * 1 * (k1 + 1) / (1 + k1 * (1 - b + b * 2 / 3.0));
    const double d3 = idf_cherry * 3 * (k1 + 1) / (3 + k1 * (1 - b + b * 4 / 3.0));
    std::map<std::string, double> want = {{"d1", d1}, {"d2", d2}, {"d3", d3}};
    const std::vector<Hit> hits = index.search("apple cherry", 10);
    ASSERT_EQ(hits.size(), 3u);
    for (size_t i = 0; i < hits.size(); ++i) {
      EXPECT_NEAR(hits[i].score, want[hits[i].doc_id], 1e-12) << hits[i].doc_id << " k1=" << k1 << " b=" << b;
      if (i) {
        EXPECT_GE(hits[i - 1].score, hits[i].score);
      }
    }
    // Repeating a query word does not change scores (distinct query terms).
    EXPECT_NEAR(index.search("apple apple cherry", 1)[0].score, hits[0].score, 1e-12);
  }
}

TEST(Bm25Test, NoMatchingTermNoWordsOrZeroKGiveNoHits) {
  Bm25Retriever index(plain_params(), ChunkParams{});
  EXPECT_TRUE(index.search("apple", 3).empty());  // empty index
  index.add(kTiny);
  EXPECT_TRUE(index.search("zebra", 3).empty());
  EXPECT_TRUE(index.search("  ?! ", 3).empty());
  EXPECT_TRUE(index.search("apple", 0).empty());
  EXPECT_EQ(index.search("banana", 1).size(), 1u);
}

TEST(Bm25Test, SaveLoadRoundTripGivesTheSameHits) {
  TempDir dir;
  Bm25Retriever index(Bm25Params{}, ChunkParams{});
  index.add(corpus(30));
  index.save(dir.file("a.idx"));
  auto loaded = Bm25Retriever::load(dir.file("a.idx"));
  EXPECT_EQ(loaded->n_passages(), index.n_passages());
  EXPECT_EQ(loaded->n_documents(), 30u);
  for (const char* q : {"sailor harbour", "the librarian paints a recipe", "robot"}) {
    const auto a = index.search(q, 7), b = loaded->search(q, 7);
    ASSERT_EQ(a.size(), b.size()) << q;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].passage_id, b[i].passage_id);
      EXPECT_EQ(a[i].text, b[i].text);
      EXPECT_EQ(a[i].score, b[i].score);
    }
  }
  // Saving what was loaded gives the same bytes.
  loaded->save(dir.file("b.idx"));
  EXPECT_EQ(read_file(dir.file("a.idx")), read_file(dir.file("b.idx")));
}

TEST(Bm25Test, IncrementalAddEqualsBuildingAtOnce) {
  TempDir dir;
  const std::vector<Document> docs = corpus(20);
  Bm25Retriever once(Bm25Params{}, ChunkParams{});
  once.add(docs);
  Bm25Retriever steps(Bm25Params{}, ChunkParams{});
  steps.add({docs.begin(), docs.begin() + 7});
  steps.add({docs.begin() + 7, docs.begin() + 8});
  steps.add({docs.begin() + 8, docs.end()});
  once.save(dir.file("once.idx"));
  steps.save(dir.file("steps.idx"));
  EXPECT_EQ(read_file(dir.file("once.idx")), read_file(dir.file("steps.idx")));
}

TEST(Bm25Test, RepeatedDocumentIdsAreRefusedAndChangeNothing) {
  Bm25Retriever index(plain_params(), ChunkParams{});
  index.add(kTiny);
  try {
    index.add({{"d9", "fig"}, {"d2", "banana again"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'d2' is already in the index"));
  }
  EXPECT_THROW(index.add({{"d8", "x"}, {"d8", "y"}}), Error);
  EXPECT_THROW(index.add({{"", "x"}}), Error);
  EXPECT_EQ(index.n_documents(), 3u);
  EXPECT_TRUE(index.search("fig", 3).empty());
}

TEST(Bm25Test, EveryTruncationAndSampledByteFlipIsAClearError) {
  TempDir dir;
  Bm25Retriever index(plain_params(), ChunkParams{});
  index.add(kTiny);
  index.save(dir.file("good.idx"));
  const std::string bytes = read_file(dir.file("good.idx"));
  auto error_of = [&](const std::string& content) -> std::string {
    write_file(dir.file("bad.idx"), content);
    try {
      Bm25Retriever::load(dir.file("bad.idx"));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THAT(error_of(bytes.substr(0, n)), HasSubstr(dir.file("bad.idx"))) << "truncated to " << n;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = char(flipped[i] ^ 0x01);
    EXPECT_THAT(error_of(flipped), HasSubstr(dir.file("bad.idx"))) << "byte " << i;
  }
}

TEST(Bm25Test, APayloadWithAValidChecksumButLyingCountsIsAClearError) {
  // Checksums catch accidents; a crafted payload must still be bounds-checked.
  TempDir dir;
  Bm25Retriever index(plain_params(), ChunkParams{});
  index.add(kTiny);
  ByteWriter w;
  index.write(w);
  std::string payload = w.bytes();
  // The document count follows k1, b, two flags, the language string and the chunk sizes.
  const size_t at = 8 + 8 + 1 + 1 + 8 + std::string("english").size() + 4 + 4;
  for (uint64_t lie : {uint64_t(1) << 62, uint64_t(1000)}) {
    std::memcpy(payload.data() + at, &lie, 8);
    write_index_file(dir.file("lie.idx"), "bm25", payload);
    try {
      Bm25Retriever::load(dir.file("lie.idx"));
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("lie.idx: corrupt index"));
    }
  }
  write_index_file(dir.file("dense.idx"), "dense", w.bytes());
  EXPECT_THROW(Bm25Retriever::load(dir.file("dense.idx")), Error);
}

}  // namespace
}  // namespace sculpt
