// Forbidden phrases: text no output may contain, enforced while the text is written. A token is
// banned wherever writing it would complete a forbidden phrase with the text already on either
// side, so every tokenization of the phrase is caught, across token boundaries. Matching ignores
// ASCII case and is by substring ("damn" also forbids "Damnation"; forbid " ass " with its
// spaces for the word alone).
//
//   PhraseBan ban(tokenizer, {"jury", "grand prize"});
//   std::vector<TokenId> no = ban.banned_between(text_so_far, "");   // the drafter's next token
//   if (auto hit = ban.find_in(final_text)) fail(...);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"

namespace sculpt {

class PhraseBan {
 public:
  // Throws Error for an empty phrase (after trimming nothing: spaces are part of a phrase).
  PhraseBan(const Tokenizer& tokenizer, const std::vector<std::string>& phrases);

  bool empty() const { return phrases_.empty(); }
  const std::vector<std::string>& phrases() const { return phrases_; }

  // The tokens that may not be written between `left` and `right`, the known text on each side
  // ("" where the neighbour is not written yet): those whose bytes would complete a phrase with
  // the text around them. Only the last and first (longest phrase - 1) bytes of the sides matter.
  std::vector<TokenId> banned_between(std::string_view left, std::string_view right) const;
  // Whether `id` is among them.
  bool bans(TokenId id, std::string_view left, std::string_view right) const;
  // Bytes of each side banned_between and bans read: the longest phrase's, less one.
  size_t context_bytes() const { return longest_ > 0 ? longest_ - 1 : 0; }

  // The same over a token sequence, the sides spelled by the tokens: at position i of `x`,
  // between the written tokens on each side up to the nearest one not written yet
  // (written[j] == 0). The drafter's next token is position x.size() with everything written.
  std::vector<TokenId> banned_at(const std::vector<TokenId>& x, const std::vector<uint8_t>& written, int64_t i) const;
  bool bans_at(const std::vector<TokenId>& x, const std::vector<uint8_t>& written, int64_t i, TokenId id) const;

  struct Match {
    std::string phrase;
    size_t at = 0;  // byte offset in the text searched
  };
  // The first forbidden phrase in `text`, if any.
  std::optional<Match> find_in(std::string_view text) const;

 private:
  Tokenizer tokenizer_;
  std::vector<std::string> phrases_;   // as given
  std::vector<std::string> folded_;    // ASCII-lowercased
  size_t longest_ = 0;                 // bytes of the longest phrase
  // Tokens whose bytes can take part in a match (share a phrase's inner text, or overlap one
  // at an end), with their lowercased bytes, by id; every other token is never banned.
  std::vector<std::pair<TokenId, std::string>> candidates_;

  // Whether lowercased token bytes between the lowercased sides complete a phrase.
  bool completes(const std::string& left, const std::string& piece, const std::string& right) const;
  // The written bytes left and right of position i (see banned_at).
  std::pair<std::string, std::string> sides(const std::vector<TokenId>& x, const std::vector<uint8_t>& written,
                                            int64_t i) const;
};

}  // namespace sculpt
