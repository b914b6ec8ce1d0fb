// Chunking: offsets give back the exact source, window and overlap sizes, preferred cut points.
#include "retrieval/chunker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "retrieval/text_analyzer.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

size_t n_words(const std::string& s) { return split_words(s).size(); }

TEST(ChunkerTest, OffsetsMapBackToTheExactSourceText) {
  std::string text;
  for (uint32_t seed = 0; seed < 12; ++seed) text += sculpt::testing::make_document(seed, 5) + "\n";
  text += "Ünïcödé wörds, «quoted» — and 東京 too.\n";
  ChunkParams p;
  p.max_tokens = 17;
  p.overlap = 5;
  const std::vector<Passage> ps = chunk_document(Document{"d", text}, p);
  ASSERT_GT(ps.size(), 5u);
  for (const Passage& q : ps) {
    EXPECT_EQ(q.doc_id, "d");
    ASSERT_LE(q.end, text.size());
    EXPECT_EQ(q.text, text.substr(q.start, q.end - q.start));
    EXPECT_LE(n_words(q.text), 17u);
    EXPECT_GE(n_words(q.text), 1u);
  }
  EXPECT_EQ(ps.front().start, 0u);
  EXPECT_EQ(ps.back().end, text.size() - 1);  // all but the final newline
}

TEST(ChunkerTest, EveryWordIsCoveredAndNeighboursShareAtMostTheOverlap) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "w" + std::to_string(i) + (i % 7 == 6 ? ". " : " ");
  ChunkParams p;
  p.max_tokens = 20;
  p.overlap = 4;
  const std::vector<Passage> ps = chunk_document(Document{"d", text}, p);
  const std::vector<WordSpan> words = split_words(text);
  size_t covered_to = 0;  // every word starts inside some passage, in order
  for (const WordSpan& w : words) {
    bool inside = false;
    for (const Passage& q : ps) inside = inside || (w.start >= q.start && w.end <= q.end);
    EXPECT_TRUE(inside) << "word at " << w.start;
    covered_to = w.end;
  }
  EXPECT_EQ(covered_to, words.back().end);
  for (size_t i = 1; i < ps.size(); ++i) {
    EXPECT_LT(ps[i - 1].start, ps[i].start);
    if (ps[i].start < ps[i - 1].end) {
      EXPECT_LE(n_words(text.substr(ps[i].start, ps[i - 1].end - ps[i].start)), 4u);
    }
  }
}

TEST(ChunkerTest, CutsAtAParagraphBeforeASentenceBeforeAWord) {
  // 10 words, a sentence end after word 6, a paragraph break after word 5.
  const std::string para = "one two three four five\nsix. seven eight nine ten";
  ChunkParams p;
  p.max_tokens = 8;
  p.overlap = 0;
  std::vector<Passage> ps = chunk_document(Document{"d", para}, p);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].text, "one two three four five");
  EXPECT_EQ(ps[1].text, "six. seven eight nine ten");
  const std::string sent = "one two three four five six. seven eight nine ten";
  ps = chunk_document(Document{"d", sent}, p);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].text, "one two three four five six.");
  const std::string none = "one two three four five six seven eight nine ten";
  ps = chunk_document(Document{"d", none}, p);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].text, "one two three four five six seven eight");
}

TEST(ChunkerTest, EmptyDocumentsHaveNoPassagesAndOverlapMustBeSmaller) {
  EXPECT_TRUE(chunk_document(Document{"d", ""}, ChunkParams{}).empty());
  EXPECT_TRUE(chunk_document(Document{"d", " ... -- \n"}, ChunkParams{}).empty());
  ChunkParams bad;
  bad.max_tokens = 4;
  bad.overlap = 4;
  EXPECT_THROW(chunk_document(Document{"d", "a b c d e"}, bad), Error);
}

}  // namespace
}  // namespace sculpt
