// Text metrics against their definitions, worked by hand.
#include "hybrid/text_metrics.h"

#include <gtest/gtest.h>

namespace sculpt {
namespace {

using Words = std::vector<std::string>;

TEST(TextMetrics, WordsAreLowercasedRunsOfLettersAndDigits) {
  EXPECT_EQ(text_words("The cat's 2 hats, THE end."), (Words{"the", "cat", "s", "2", "hats", "the", "end"}));
  EXPECT_EQ(text_words("  \n\t.,;"), Words{});
  EXPECT_EQ(text_words("café au lait"), (Words{"café", "au", "lait"}));  // UTF-8 stays whole
}

TEST(TextMetrics, RepeatedNgramRateIsOneMinusDistinctShare) {
  const Words w = text_words("a b c a b c a b");  // 4-grams: abca bcab cabc abca bcab -> 3 distinct of 5
  EXPECT_DOUBLE_EQ(repeated_ngram_rate(w, 4), 1.0 - 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(repeated_ngram_rate(text_words("one two three four five"), 4), 0.0);
  EXPECT_DOUBLE_EQ(repeated_ngram_rate(text_words("x x x x x x"), 4), 1.0 - 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(repeated_ngram_rate(text_words("too short"), 4), 0.0);
}

TEST(TextMetrics, DistinctNgramsIsTheDistinctShare) {
  EXPECT_DOUBLE_EQ(distinct_ngrams(text_words("the cat the cat sat"), 2), 3.0 / 4.0);  // the-cat twice
  EXPECT_DOUBLE_EQ(distinct_ngrams(text_words("alone"), 2), 0.0);
  EXPECT_DOUBLE_EQ(distinct_ngrams(text_words("a b c"), 1), 1.0);
}

TEST(TextMetrics, TokenF1CountsTheMultisetOverlap) {
  // candidate {the, cat, sat}, reference {the, cat, the, dog}: overlap 2, P 2/3, R 2/4.
  EXPECT_NEAR(token_f1(text_words("the cat sat"), text_words("the cat the dog")), 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), 1e-12);
  // A repeated candidate word counts only as often as the reference has it.
  EXPECT_NEAR(token_f1(text_words("the the the"), text_words("the dog")), 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5), 1e-12);
  EXPECT_DOUBLE_EQ(token_f1(text_words("same words"), text_words("Same, words!")), 1.0);
  EXPECT_DOUBLE_EQ(token_f1(text_words("nothing shared"), text_words("other text")), 0.0);
  EXPECT_DOUBLE_EQ(token_f1({}, text_words("x")), 0.0);
}

}  // namespace
}  // namespace sculpt
