// Carrying a draft's scores from one tokenization to another by byte offsets
// (hybrid/token_alignment.h): by hand on a character split across tokens and a special token,
// then on hard text (CJK, emoji, accents, runs of spaces and newlines) between the shipped
// sentencepiece tokenizer and Qwen3's published byte-level tokenizer.json, each against the
// plain definition: a token ends at the last character boundary its bytes reach, and a token
// takes the least log-probability of the other side's tokens whose bytes overlap its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "hybrid/text_spans.h"
#include "hybrid/token_alignment.h"
#include "support/hf_reference.h"

namespace sculpt {
namespace {

const std::string kHard = " The jury said \u65e5\u672c\u8a9e\u306e\u6587 \U0001F680\U0001F600 caf\u00e9  na\u00efve\n\n  x=42, 3.14159!";

TEST(TokenEndsTest, ACharacterGoesWithTheTokenThatCompletesIt) {
  const std::string text = "a\u00e9 b";  // a, C3 A9, space, b
  // Tokens: "a", the first byte of é, its second byte, a special token spelling nothing, " b".
  const std::vector<std::string> spelled = {"a", "a\uFFFD", "a\u00e9", "a\u00e9", "a\u00e9 b"};
  const std::vector<size_t> ends = token_ends(text, 5, [&](int64_t i) { return spelled[size_t(i)]; });
  EXPECT_EQ(ends, (std::vector<size_t>{1, 1, 3, 3, 5}));
  EXPECT_EQ(token_texts(text, ends), (std::vector<std::string>{"a", "", "\u00e9", "", " b"}));
  EXPECT_TRUE(token_ends(text, 0, [&](int64_t) { return std::string(); }).empty());
}

TEST(CarryScoresTest, EachTokenTakesTheWeakestOverlappingScore) {
  // Drafter: "a" | first byte of é (weak) | second byte | " b".  Refiner: "aé" | " " | "b".
  const std::vector<size_t> from = {1, 1, 3, 5}, to = {3, 4, 5};
  const CarriedScores s = carry_scores(from, {-1.0f, -4.0f, 0.0f, -2.0f}, {0.5f, 3.0f, 0.1f, 1.0f}, to);
  EXPECT_EQ(s.logprobs, (std::vector<float>{-4.0f, -2.0f, -2.0f}));
  EXPECT_EQ(s.entropies, (std::vector<float>{3.0f, 1.0f, 1.0f}));
  // A token no drafter token overlaps (past the draft's bytes) is certain.
  const CarriedScores past = carry_scores({2}, {-3.0f}, {2.0f}, {2, 4});
  EXPECT_EQ(past.logprobs, (std::vector<float>{-3.0f, 0.0f}));
  EXPECT_THROW(carry_scores({1, 2}, {-1.0f}, {0.0f, 0.0f}, {2}), Error);
}

// The largest character boundary of s at or before `at`.
size_t boundary_before(const std::string& s, size_t at) {
  while (at > 0 && at < s.size() && (uint8_t(s[at]) & 0xC0) == 0x80) --at;
  return at;
}

struct Tokenized {
  std::vector<TokenId> ids;
  std::vector<size_t> ends;
};

// The text as `tok` reads it after "Hello", and where each token ends.
Tokenized tokenize(const Tokenizer& tok, const std::string& text) {
  Tokenized t;
  t.ids = encode_continuation(tok, text);
  EXPECT_EQ(spelling_of(tok, t.ids), text) << tok.path();
  const std::vector<TokenId> lead = tok.encode("Hello");
  const std::string before = tok.decode(lead);
  const auto spell = [&](int64_t i) {
    std::vector<TokenId> all = lead;
    all.insert(all.end(), t.ids.begin(), t.ids.begin() + i + 1);
    return tok.decode(all).substr(before.size());
  };
  t.ends = token_ends(text, int64_t(t.ids.size()), spell);
  // The one-pass form, from the pieces' bytes, finds the same ends.
  EXPECT_EQ(token_ends(text, tok, t.ids, spell), t.ends) << tok.path();
  // The definition: each token ends at the last character boundary its bytes reach.
  size_t end = 0;
  for (size_t i = 0; i < t.ids.size(); ++i) {
    end += tok.piece_bytes(t.ids[i]).size();
    EXPECT_EQ(t.ends[i], boundary_before(text, end)) << tok.path() << " token " << i << " '" << tok.id_to_piece(t.ids[i]) << "'";
  }
  return t;
}

TEST(CarryScoresTest, BetweenSentencepieceAndByteLevelBpeOnHardText) {
  const std::string qwen = testing::hf_fixture("qwen3", "tokenizer.json");
  if (const std::string why = testing::reference_missing(qwen); !why.empty()) GTEST_SKIP() << why;
  const Tokenizer spm = Tokenizer::load(std::string(SCULPT_SOURCE_DIR) + "/models/drafter/tokenizer.model");
  const Tokenizer bpe = Tokenizer::load(qwen);
  const Tokenized a = tokenize(spm, kHard), b = tokenize(bpe, kHard);
  ASSERT_NE(a.ids.size(), b.ids.size());

  // Byte ranges as the definition gives them: [previous end, end), an empty one taking the next.
  const auto ranges = [](const std::vector<size_t>& ends) {
    std::vector<std::pair<size_t, size_t>> r;
    for (size_t i = 0; i < ends.size(); ++i) r.push_back({i ? ends[i - 1] : 0, ends[i]});
    for (size_t i = r.size(); i-- > 1;)
      if (r[i - 1].first == r[i - 1].second) r[i - 1].second = r[i].second;
    return r;
  };
  for (const auto& [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    std::vector<float> logprobs, entropies;
    for (size_t i = 0; i < from->ids.size(); ++i) logprobs.push_back(-float(i + 1)), entropies.push_back(float(i));
    const CarriedScores s = carry_scores(from->ends, logprobs, entropies, to->ends);
    const auto rf = ranges(from->ends), rt = ranges(to->ends);
    for (size_t j = 0; j < rt.size(); ++j) {
      float lp = 0, h = 0;
      for (size_t i = 0; i < rf.size(); ++i)
        if (rf[i].first < rt[j].second && rt[j].first < rf[i].second) lp = std::min(lp, logprobs[i]), h = std::max(h, entropies[i]);
      EXPECT_EQ(s.logprobs[j], lp) << "token " << j;
      EXPECT_EQ(s.entropies[j], h) << "token " << j;
    }
    // Each drafter token's bytes are covered by tokens at least as weak.
    for (size_t i = 0; i < rf.size(); ++i)
      for (size_t byte = rf[i].first; byte < rf[i].second; ++byte) {
        bool covered = false;
        for (size_t j = 0; j < rt.size(); ++j)
          covered = covered || (rt[j].first <= byte && byte < rt[j].second && s.logprobs[j] <= logprobs[i]);
        EXPECT_TRUE(covered) << "byte " << byte << " of token " << i;
      }
  }
}

// A text on its own, which a dummy-prefix tokenizer spells with a space first: the one-pass form
// leaves that space out, as decoding the prefixes does.
TEST(TokenEndsTest, OnePassFormSkipsTheDummyPrefixSpace) {
  const Tokenizer spm = Tokenizer::load(std::string(SCULPT_SOURCE_DIR) + "/models/drafter/tokenizer.model");
  const std::string text = "The jury said caf\u00e9 \u65e5\u672c";
  const std::vector<TokenId> ids = spm.encode(text);
  ASSERT_EQ(spelling_of(spm, ids), " " + text);
  const auto spell = [&](int64_t i) { return spm.decode({ids.begin(), ids.begin() + i + 1}); };
  EXPECT_EQ(token_ends(text, spm, ids, spell), token_ends(text, int64_t(ids.size()), spell));
}

TEST(EncodeContinuationTest, SpellsTheTextWithItsLeadingSpace) {
  const Tokenizer spm = Tokenizer::load(std::string(SCULPT_SOURCE_DIR) + "/models/drafter/tokenizer.model");
  for (const std::string text : {" The jury", "The jury", "  two spaces", " caf\u00e9 \u65e5\u672c"}) {
    EXPECT_EQ(spelling_of(spm, encode_continuation(spm, text)), text[0] == ' ' ? text : " " + text) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace sculpt
