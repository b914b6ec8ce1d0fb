// core/phrase_ban: forbidden phrases, against the definition checked on whole strings with the
// shipped tokenizer: a token is banned between two texts exactly when the joined text holds a
// phrase (ignoring ASCII case) that overlaps the token's bytes.
#include "core/phrase_ban.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>

#include "core/error.h"

namespace sculpt {
namespace {

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(std::string(SCULPT_SOURCE_DIR) + "/models/drafter/tokenizer.model");
  return t;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The definition, on whole strings (no tails, no candidate pruning).
bool banned_by_definition(const std::vector<std::string>& phrases, const std::string& left, TokenId id,
                          const std::string& right) {
  const std::string piece = tokenizer().piece_bytes(id);
  if (piece.empty()) return false;
  const std::string joined = lower(left + piece + right);
  for (const std::string& phrase : phrases) {
    const std::string p = lower(phrase);
    for (size_t at = joined.find(p); at != std::string::npos; at = joined.find(p, at + 1))
      if (at < left.size() + piece.size() && at + p.size() > left.size()) return true;
  }
  return false;
}

TEST(PhraseBanTest, BansExactlyTheTokensThatCompleteAPhrase) {
  const std::vector<std::string> phrases = {"jury", "The city", " said that", "é"};
  const PhraseBan ban(tokenizer(), phrases);
  const std::vector<std::pair<std::string, std::string>> sides = {
      {"", ""},          {"The ju", ""},      {"the CIT", ""},  {"", "ry was"}, {"The", " city"},
      {"He said", ""},   {"He sa", " that"},  {"caf", ""},      {"j", "y"},     {"A long text before the j", "ry after"}};
  int64_t n_banned = 0;
  for (const auto& [left, right] : sides) {
    const std::vector<TokenId> got = ban.banned_between(left, right);
    std::vector<TokenId> want;
    for (TokenId id = 0; id < tokenizer().n_vocab(); ++id)
      if (banned_by_definition(phrases, left, id, right)) want.push_back(id);
    EXPECT_EQ(got, want) << "between '" << left << "' and '" << right << "'";
    for (TokenId id : want) EXPECT_TRUE(ban.bans(id, left, right));
    n_banned += int64_t(want.size());
  }
  EXPECT_GT(n_banned, 20);  // the cases do ban things
}

TEST(PhraseBanTest, EveryTokenizationOfAPhraseIsCaught) {
  // Writing "jury" piece by piece (bytes included) is stopped at the piece that completes it.
  const PhraseBan ban(tokenizer(), {"jury"});
  for (const std::string text : {"the jury", "THE JURY", "injury", "a jury-rigged"}) {
    const std::vector<TokenId> ids = tokenizer().encode(text);
    std::string so_far;
    bool stopped = false;
    for (TokenId id : ids) {
      if (ban.bans(id, so_far, "")) {
        stopped = true;
        EXPECT_TRUE(ban.find_in(so_far + tokenizer().piece_bytes(id)).has_value());
        break;
      }
      so_far += tokenizer().piece_bytes(id);
      EXPECT_FALSE(ban.find_in(so_far).has_value()) << so_far;
    }
    EXPECT_TRUE(stopped) << text;
  }
}

TEST(PhraseBanTest, FindsPhrasesInTextIgnoringAsciiCase) {
  const PhraseBan ban(tokenizer(), {"grand jury", "Prize"});
  ASSERT_TRUE(ban.find_in("The Grand Jury met.").has_value());
  EXPECT_EQ(ban.find_in("The Grand Jury met.")->at, 4u);
  EXPECT_EQ(ban.find_in("a prize and a grand jury")->phrase, "Prize");  // the first in the text
  EXPECT_FALSE(ban.find_in("grand  jury").has_value());
  EXPECT_TRUE(PhraseBan(tokenizer(), {}).empty());
  EXPECT_THAT([] { PhraseBan(tokenizer(), {"ok", ""}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("forbid[1]: is empty")));
}

}  // namespace
}  // namespace sculpt
