// Context injection: budget, de-duplication, separators and the record of what was used.
#include "retrieval/context_injector.h"

#include <gtest/gtest.h>

namespace sculpt {
namespace {

Hit hit(uint64_t id, const std::string& doc, size_t start, const std::string& text, double score) {
  return Hit{id, doc, start, start + text.size(), text, score};
}

int words(std::string_view s) {
  int n = 0;
  bool in = false;
  for (char c : s) {
    const bool sp = c == ' ' || c == '\n';
    n += !sp && !in;
    in = !sp;
  }
  return n;
}

TEST(ContextInjectorTest, RendersInRankOrderWithSeparatorsAndRecordsWhatWasUsed) {
  InjectParams p;
  p.budget_tokens = 100;
  p.separator = "\n---\n";
  ContextInjector inj(p);
  const Injection out = inj.render({hit(7, "a", 0, "alpha beta", 3.0), hit(2, "b", 10, "gamma", 2.0)});
  EXPECT_EQ(out.text, "[a] alpha beta\n---\n[b] gamma\n---\n");
  ASSERT_EQ(out.used.size(), 2u);
  EXPECT_EQ(out.used[0].passage_id, 7u);
  EXPECT_EQ(out.used[0].doc_id, "a");
  EXPECT_EQ(out.used[0].score, 3.0);
  EXPECT_EQ(out.used[0].n_tokens, 4);  // "[a]", "alpha", "beta", "---"
  EXPECT_EQ(out.used[1].n_tokens, 3);
  EXPECT_EQ(out.n_tokens, 7);
}

TEST(ContextInjectorTest, SkipsDuplicatesBySpanAndByText) {
  InjectParams p;
  p.cite_source = false;
  ContextInjector inj(p);
  const Injection out = inj.render({hit(1, "a", 0, "same words", 3), hit(1, "a", 0, "same words", 3),
                                    hit(5, "b", 40, "  same words\n", 2), hit(6, "c", 0, "other", 1)});
  EXPECT_EQ(out.text, "same words\n\nother\n\n");
  ASSERT_EQ(out.used.size(), 2u);
  EXPECT_EQ(out.used[1].passage_id, 6u);
}

TEST(ContextInjectorTest, StaysWithinTheBudgetLettingAShorterPassageFitLater) {
  InjectParams p;
  p.budget_tokens = 6;
  p.cite_source = false;
  p.separator = " ";
  p.truncate = false;
  ContextInjector inj(p, words);
  const Injection out = inj.render({hit(1, "a", 0, "one two three", 3), hit(2, "b", 0, "four five six seven", 2),
                                    hit(3, "c", 0, "eight nine", 1), hit(4, "d", 0, "ten", 0.5)});
  // The 4-word passage would overflow (3 + 4 > 6) and is skipped; the later ones still fit.
  EXPECT_EQ(out.text, "one two three eight nine ten ");
  EXPECT_EQ(out.n_tokens, 6);
  ASSERT_EQ(out.used.size(), 3u);
  EXPECT_EQ(out.used[1].passage_id, 3u);
  EXPECT_EQ(out.used[2].passage_id, 4u);
  EXPECT_TRUE(ContextInjector(InjectParams{0}).render({hit(1, "a", 0, "x", 1)}).used.empty());
}

TEST(ContextInjectorTest, TruncationFillsTheBudgetWithWholeWordsAndRecordsTheSpan) {
  InjectParams p;
  p.budget_tokens = 6;
  p.cite_source = false;
  p.separator = "\n";
  ContextInjector inj(p, words);
  const Injection out = inj.render({hit(1, "a", 100, "one two", 3), hit(2, "b", 200, "  three four five six seven\n", 2)});
  EXPECT_EQ(out.text, "one two\nthree four five six\n");
  EXPECT_EQ(out.n_tokens, 6);
  ASSERT_EQ(out.used.size(), 2u);
  EXPECT_FALSE(out.used[0].truncated);
  EXPECT_TRUE(out.used[1].truncated);
  // The span is what went in: the leading spaces and the cut words are outside it.
  EXPECT_EQ(out.used[1].start, 202u);
  EXPECT_EQ(out.used[1].end, 202u + std::string("three four five six").size());
  // A budget smaller than any first word injects nothing.
  p.budget_tokens = 1;
  p.cite_source = true;
  EXPECT_TRUE(ContextInjector(p, words).render({hit(1, "a", 0, "one two", 3)}).used.empty());
}

TEST(ContextInjectorTest, MaxPassagesCapsTheCount) {
  InjectParams p;
  p.max_passages = 1;
  const Injection out = ContextInjector(p).render({hit(1, "a", 0, "x", 2), hit(2, "b", 0, "y", 1)});
  ASSERT_EQ(out.used.size(), 1u);
  EXPECT_EQ(out.used[0].doc_id, "a");
}

}  // namespace
}  // namespace sculpt
