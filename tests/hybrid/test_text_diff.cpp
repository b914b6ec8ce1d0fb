// Word-level diff (hybrid/text_diff.h): hand-made cases, and on random texts the shortest edit
// script against the definition (a longest common subsequence of word units, by dynamic
// programming) with the changes applied giving back the new text.
#include "hybrid/text_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace sculpt {
namespace {

std::string render(const std::string& a, const std::string& b) { return render_word_diff(a, b, /*colour=*/false); }

TEST(TextDiffTest, ShowsWholeWordsChanged) {
  EXPECT_EQ(render("the expensive car", "the fast car"), "the [-expensive-]{+fast+} car");
  EXPECT_EQ(render("a b c", "a b c"), "a b c");
  EXPECT_EQ(render("", "new text"), "{+new text+}");
  EXPECT_EQ(render("old text", ""), "[-old text-]");
  EXPECT_EQ(render("one two three", "one three"), "one [-two -]three");
  EXPECT_EQ(render("one three", "one two three"), "one {+two +}three");
  EXPECT_EQ(render("The jury said", "The jury, said"), "The [-jury-]{+jury,+} said");
}

TEST(TextDiffTest, ChangesCarryOffsetsIntoBothTexts) {
  const std::vector<TextChange> c = word_changes("the expensive car", "the fast car");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].old_begin, 4u);
  EXPECT_EQ(c[0].old_end, 13u);
  EXPECT_EQ(c[0].new_begin, 4u);
  EXPECT_EQ(c[0].new_end, 8u);
  EXPECT_EQ(c[0].old_text, "expensive");
  EXPECT_EQ(c[0].new_text, "fast");
  EXPECT_TRUE(word_changes("same words", "same words").empty());
}

TEST(TextDiffTest, ColourUsesAnsiEscapes) {
  EXPECT_EQ(render_word_diff("a b", "a c", /*colour=*/true), "a \x1b[9;31mb\x1b[0m\x1b[1;32mc\x1b[0m");
}

// Units as text_diff.cpp cuts them, and the LCS length of two unit lists by dynamic programming.
std::vector<std::string> units(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool space = s[i] == ' ' || s[i] == '\n';
    if (i == 0 || space != (s[i - 1] == ' ' || s[i - 1] == '\n')) out.emplace_back();
    out.back() += s[i];
  }
  return out;
}

size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<size_t>> t(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j)
      t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  return t[a.size()][b.size()];
}

TEST(TextDiffTest, RandomTextsGetAShortestEditScriptThatRebuildsTheNewText) {
  std::mt19937 rng(7);
  const std::vector<std::string> words = {"a", "b", "cat", "dog", "the", "ran", " ", "  ", "\n"};
  auto random_text = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += words[rng() % words.size()] + (rng() % 2 ? " " : "");
    return s;
  };
  for (int trial = 0; trial < 300; ++trial) {
    const std::string a = random_text(int(rng() % 25)), b = random_text(int(rng() % 25));
    const std::vector<TextChange> changes = word_changes(a, b);
    // Applying the changes to `a` gives `b`, and what is not changed is a common subsequence
    // of maximal length.
    std::string rebuilt;
    size_t at = 0, changed_old_units = 0;
    for (const TextChange& c : changes) {
      ASSERT_GE(c.old_begin, at);
      EXPECT_EQ(a.substr(c.old_begin, c.old_end - c.old_begin), c.old_text);
      EXPECT_EQ(b.substr(c.new_begin, c.new_end - c.new_begin), c.new_text);
      rebuilt += a.substr(at, c.old_begin - at) + c.new_text;
      at = c.old_end;
      changed_old_units += units(c.old_text).size();
    }
    rebuilt += a.substr(at);
    EXPECT_EQ(rebuilt, b) << "a='" << a << "' b='" << b << "'";
    EXPECT_EQ(units(a).size() - changed_old_units, lcs_length(units(a), units(b))) << "a='" << a << "' b='" << b << "'";
  }
}

}  // namespace
}  // namespace sculpt
