// The text that flows through a Hugging Face tokenizer.json pipeline: UTF-8 helpers and
// NormalizedText, the part of the tokenizers library's NormalizedString that ids depend on
// (tokenizers/src/tokenizer/normalizer.rs), plus the split-by-matches step that every
// pre-tokenizer shares (NormalizedString::split and its SplitDelimiterBehavior).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace sculpt::hf {

// ---------------------------------------------------------------------------------------------
// UTF-8

// The offset of the first byte that is not part of well-formed UTF-8 (no surrogates, overlong
// forms or code points above U+10FFFF: what Rust's &str guarantees), or npos if there is none.
size_t utf8_invalid_at(std::string_view s);

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i past it.
char32_t utf8_next(std::string_view s, size_t& i);

// The byte length of the UTF-8 character whose first byte is `lead` (1 for a stray byte).
size_t utf8_length(unsigned char lead);

void utf8_append(std::string& out, char32_t c);

// Bytes to text as Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes
// one U+FFFD (the Unicode "maximal subpart" policy, also WHATWG's TextDecoder).
std::string utf8_lossy(std::string_view bytes);

// Unicode properties as the Rust standard library defines them (the tokenizers library calls
// char::is_whitespace, char::is_numeric and the regex crate's \w).
bool is_white_space(char32_t c);  // White_Space
bool is_numeric(char32_t c);      // general category Nd, Nl or No
bool is_word_char(char32_t c);    // Alphabetic, M, Nd, Pc or Join_Control (UTS #18 \w)
bool is_punctuation(char32_t c);  // ASCII punctuation or general category P*

// ---------------------------------------------------------------------------------------------
// NormalizedText

// A piece of the input on its way to the model: its current bytes and, for each byte, where the
// source character began in the original input. The origins are what NormalizedString's
// alignments reduce to once offsets are not reported; Metaspace's prepend_scheme "first" needs
// them (it asks whether a piece begins at offset 0 of the original input).
struct NormalizedText {
  std::string text;
  std::vector<uint32_t> origin;  // [text.size()] input byte offset of each byte's source character
  uint32_t shift = 0;            // origin of the first byte when this piece was cut out
                                 // (NormalizedString::offsets_original().0)
};

// The whole input as a NormalizedText (every origin is its own character's offset).
NormalizedText make_normalized(std::string_view input);

// text[begin, end) as its own piece, as NormalizedString::slice.
NormalizedText slice(const NormalizedText& t, size_t begin, size_t end);

// Appends bytes that all come from the character at `origin`.
void append(NormalizedText& t, std::string_view bytes, uint32_t origin);

// One part of a text cut by a pattern: [begin, end) and whether the pattern matched it. A list
// of these covers the text in order, as tokenizers' Pattern::find_matches returns.
struct Match {
  size_t begin = 0;
  size_t end = 0;
  bool is_match = false;
};

// Pattern::find_matches for a character predicate: each matching character is its own match.
template <class Pred>
std::vector<Match> find_char_matches(std::string_view text, Pred&& pred);

// What happens to the matched parts when a piece is split (tokenizers'
// SplitDelimiterBehavior, its JSON names in brackets).
enum class SplitBehavior {
  kRemoved,             // "Removed": dropped
  kIsolated,            // "Isolated": pieces of their own
  kMergedWithPrevious,  // "MergedWithPrevious": appended to the piece before
  kMergedWithNext,      // "MergedWithNext": prepended to the piece after
  kContiguous,          // "Contiguous": runs of matches (and of non-matches) fused
};

// NormalizedString::split: the pieces of t cut at `matches` under `behavior`. Empty pieces are
// kept here (the caller drops them, as PreTokenizedString::split does).
std::vector<NormalizedText> split_by_matches(const NormalizedText& t, std::vector<Match> matches,
                                             SplitBehavior behavior);

// A split of PreTokenizedString: text still to be tokenized, or an added token already
// recognised (id >= 0), which no later stage touches.
struct Piece {
  NormalizedText text;
  TokenId id = -1;
};

// ---------------------------------------------------------------------------------------------

template <class Pred>
std::vector<Match> find_char_matches(std::string_view text, Pred&& pred) {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Match> out;
  size_t last = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const char32_t c = utf8_next(text, i);
    if (!pred(c)) continue;
    if (last < at) out.push_back({last, at, false});
    out.push_back({at, i, true});
    last = i;
  }
  if (last < text.size()) out.push_back({last, text.size(), false});
  return out;
}

}  // namespace sculpt::hf
