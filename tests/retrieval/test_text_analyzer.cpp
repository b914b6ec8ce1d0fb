// Word splitting with byte offsets, Unicode normalisation, stop words and Snowball stemming.
#include "retrieval/text_analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace sculpt {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  for (const WordSpan& w : split_words(text)) out.push_back(text.substr(w.start, w.end - w.start));
  return out;
}

TEST(TextAnalyzerTest, SplitsOnNonWordCharactersWithExactOffsets) {
  EXPECT_THAT(words_of("``Yes,'' he said -- 42 times."), ElementsAre("Yes", "he", "said", "42", "times"));
  EXPECT_THAT(words_of("naïve café Ελλάδα Москва 東京"), ElementsAre("naïve", "café", "Ελλάδα", "Москва", "東京"));
  EXPECT_THAT(words_of(""), ElementsAre());
  EXPECT_THAT(words_of("a\xff" "b"), ElementsAre("a", "b"));  // invalid UTF-8 separates
}

TEST(TextAnalyzerTest, NormalisationFoldsCaseWidthAndDiacritics) {
  EXPECT_EQ(normalize_word("Café"), "cafe");
  EXPECT_EQ(normalize_word("CAFÉ"), "cafe");
  EXPECT_EQ(normalize_word("ＣＡＦＥ"), "cafe");       // full-width forms (NFKC)
  EXPECT_EQ(normalize_word("Straße"), "strasse");     // full case folding
  EXPECT_EQ(normalize_word("ΕΛΛΆΔΑ"), "ελλαδα");
  EXPECT_EQ(normalize_word("HELLO"), "hello");
}

TEST(TextAnalyzerTest, StopWordsAndStemmingAreOptional) {
  AnalyzerParams plain;
  plain.stop_words = false;
  plain.stemming = false;
  EXPECT_THAT(TextAnalyzer(plain).terms("The Jurors were running"), ElementsAre("the", "jurors", "were", "running"));
  AnalyzerParams stop = plain;
  stop.stop_words = true;
  EXPECT_THAT(TextAnalyzer(stop).terms("The Jurors were running"), ElementsAre("jurors", "running"));
  AnalyzerParams stem = stop;
  stem.stemming = true;
  EXPECT_THAT(TextAnalyzer(stem).terms("The Jurors were running"), ElementsAre("juror", "run"));
}

TEST(TextAnalyzerTest, UnknownStemmerLanguageIsAnError) {
  AnalyzerParams p;
  p.language = "klingon";
  EXPECT_THROW(TextAnalyzer{p}, Error);
  p.stemming = false;
  EXPECT_NO_THROW(TextAnalyzer{p});
}

}  // namespace
}  // namespace sculpt
