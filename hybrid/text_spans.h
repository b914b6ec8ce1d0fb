// Character ranges of a text (Unicode code points, half-open: what a browser and Python count)
// and the token ranges that cover them, for requests that name parts of a text by position
// (`sculpt refine --spans`, the server's /v1/refine).
//
//   std::vector<Span> spans = token_spans_of(tokenizer, ids, text, {{120, 180}});
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer.h"
#include "diffusion_refine/canvas.h"

namespace sculpt {

// The number of code points in text[0, byte_offset).
int64_t code_point_offset(const std::string& text, size_t byte_offset);

// The largest character boundary of `text` at or before byte `at` (text.size() past its end).
size_t char_floor(const std::string& text, size_t at);

// Where each token of `ids` (the tokens of `text`) lies in the text.
struct TokenLayout {
  std::vector<size_t> byte_begin, byte_end;  // the bytes each token spells, in the text as the tokens spell it
  std::vector<Span> chars;                  // the code points each covers (each byte piece of a character covers it)
  bool exact = false;                       // the tokens spell `text` exactly; else the offsets are of their own spelling
};
TokenLayout token_layout(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, const std::string& text);

// The token ranges of `ids` (the tokens of `text`) that overlap each code point range, in
// order; a range covering no token is dropped. Throws Error naming a range that is empty or
// reaches past the text's end.
// The bytes `ids` spell, piece by piece (Tokenizer::piece_bytes of each, the leading space of a
// dummy prefix included).
std::string spelling_of(const Tokenizer& tokenizer, const std::vector<TokenId>& ids);

// The tokens that spell `text` (piece by piece) where it continues other text: encode(text), or,
// when a tokenizer that puts a space before a text's first word itself (sentencepiece's dummy
// prefix) would double a leading space, the tokens of the text without it.
std::vector<TokenId> encode_continuation(const Tokenizer& tokenizer, const std::string& text);

std::vector<Span> token_spans_of(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, const std::string& text,
                                 const std::vector<std::pair<int64_t, int64_t>>& ranges);

}  // namespace sculpt
