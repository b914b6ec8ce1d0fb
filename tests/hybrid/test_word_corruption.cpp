// hybrid/word_corruption: corruption by the stated shares, scores by their definitions on
// hand-made texts.
#include "hybrid/word_corruption.h"

#include <gtest/gtest.h>

namespace sculpt {
namespace {

TEST(WordCorruptionTest, CorruptsAboutTheShareAndIsSeeded) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "w" + std::to_string(i) + (i % 10 == 9 ? "\n" : " ");
  const std::vector<std::string> vocabulary = {"alpha", "beta", "gamma"};
  const Corruption c = corrupt_words(text, 0.15, vocabulary, 7);
  const int64_t n = c.n_replaced + c.n_deleted + c.n_inserted;
  EXPECT_NEAR(double(n) / 3000, 0.15, 0.02);
  for (int64_t k : {c.n_replaced, c.n_deleted, c.n_inserted}) EXPECT_NEAR(double(k) / double(n), 1.0 / 3, 0.06);
  EXPECT_EQ(int64_t(split_words(c.text).size()), 3000 - c.n_deleted + c.n_inserted);
  EXPECT_EQ(corrupt_words(text, 0.15, vocabulary, 7).text, c.text);
  EXPECT_NE(corrupt_words(text, 0.15, vocabulary, 8).text, c.text);
  EXPECT_EQ(corrupt_words(text, 0.0, vocabulary, 7).text, text);
  // What it scores: the corrupted text against itself restores nothing and damages nothing.
  const FixScore s = score_fix(text, c.text, c.text);
  EXPECT_EQ(s.n_corrupted, c.n_replaced + c.n_deleted);
  EXPECT_EQ(s.n_restored, 0);
  EXPECT_EQ(s.n_damaged, 0);
  EXPECT_EQ(s.n_spurious_before, c.n_replaced + c.n_inserted);
  EXPECT_EQ(score_fix(text, c.text, text).n_restored, s.n_corrupted);  // the original restores all
}

TEST(WordCorruptionTest, ScoresRestoredDamagedAndSpuriousWords) {
  const std::string original = "the jury said the vote was fair";
  const std::string corrupted = "the jury cat said the was fair";  // "cat" inserted, "vote" deleted
  // Fixed: "cat" removed and "vote" back, but "fair" broken into "fine".
  const FixScore s = score_fix(original, corrupted, "the jury said the vote was fine");
  EXPECT_EQ(s.n_words, 7);
  EXPECT_EQ(s.n_corrupted, 1);
  EXPECT_EQ(s.n_restored, 1);
  EXPECT_EQ(s.n_damaged, 1);
  EXPECT_EQ(s.n_spurious_before, 1);
  EXPECT_EQ(s.n_spurious_after, 1);  // "fine"
  FixScore total = s;
  total += s;
  EXPECT_EQ(total.n_damaged, 2);
}

}  // namespace
}  // namespace sculpt
