// A draft carried from the drafter's tokens to the refiner's when the two do not share a
// tokenizer: the draft goes over as text, the refiner reads it in its own tokens, and what the
// drafter knew of each of its tokens (log-probability, entropy) goes to the refiner tokens that
// cover the same bytes. Spans are then chosen, re-masked and rewritten in the refiner's tokens.
//
//   const std::vector<size_t> d = token_ends(text, n_d, spell_drafter), r = token_ends(text, n_r, spell_refiner);
//   const CarriedScores s = carry_scores(d, view.logprobs, view.entropies, r);   // one per refiner token
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tokenizer.h"

namespace sculpt {

// Where each of n tokens ends in `text`, which they spell: spell(i) is the text of tokens
// [0, i] as the tokenizer decodes it, and token i ends where that stops agreeing with `text`
// (the longest common prefix). A token inside a character therefore ends before it, and the
// character goes with the token that completes it; a token that spells nothing (a special token)
// ends where the one before it does. Non-decreasing; the last is text.size().
std::vector<size_t> token_ends(const std::string& text, int64_t n, const std::function<std::string(int64_t)>& spell);

// The same for `ids` as `tokenizer` reads `text`: when the pieces spell the text exactly
// (Tokenizer::piece_bytes, a dummy prefix's leading space aside), each token ends at the last
// character boundary its bytes reach, found in one pass; otherwise through spell, which decodes
// every prefix.
std::vector<size_t> token_ends(const std::string& text, const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                               const std::function<std::string(int64_t)>& spell);

// The text each token adds: text[ends[i-1], ends[i]) (a character spelled by several tokens comes
// with the last of them, so a reader that concatenates them never sees half a character).
std::vector<std::string> token_texts(const std::string& text, const std::vector<size_t>& ends);

struct CarriedScores {
  std::vector<float> logprobs, entropies;
};

// The drafter's scores of its tokens (ending at `from` in the text) given to the other
// tokenization of the same text (ending at `to`): each token takes the weakest score among the
// drafter tokens whose bytes overlap its own (the least log-probability, the largest entropy),
// so a weak drafter token makes every refiner token over its bytes weak. A token with no bytes
// of its own (part of a character, a special token) counts with the token that completes it.
// A token no drafter token overlaps is certain (0, 0).
CarriedScores carry_scores(const std::vector<size_t>& from, const std::vector<float>& logprobs,
                           const std::vector<float>& entropies, const std::vector<size_t>& to);

}  // namespace sculpt
