// Code point ranges to token ranges; see text_spans.h.
#include "hybrid/text_spans.h"

#include <algorithm>

#include "core/error.h"

namespace sculpt {

int64_t code_point_offset(const std::string& text, size_t byte_offset) {
  byte_offset = std::min(byte_offset, text.size());
  return std::count_if(text.begin(), text.begin() + long(byte_offset),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

size_t char_floor(const std::string& text, size_t at) {
  at = std::min(at, text.size());
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  return at;
}

TokenLayout token_layout(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, const std::string& text) {
  // The text as the tokens spell it, and where each token's bytes end.
  TokenLayout out;
  std::string spelled;
  for (TokenId id : ids) {
    out.byte_begin.push_back(spelled.size());
    spelled += tokenizer.piece_bytes(id);
    out.byte_end.push_back(spelled.size());
  }
  // The decoder drops the leading space of the first piece (sentencepiece's dummy prefix).
  if (spelled.compare(0, 1, " ") == 0 && spelled.compare(1, std::string::npos, tokenizer.decode(ids)) == 0) {
    spelled.erase(0, 1);
    for (size_t* v : {out.byte_begin.data(), out.byte_end.data()})
      for (size_t i = 0; i < ids.size(); ++i) v[i] = v[i] > 0 ? v[i] - 1 : 0;
  }
  out.exact = spelled == text;
  // Token i covers code points [first, last): from the character its first byte is in, to past
  // the character its last byte is in. A piece of part of a character (a byte piece) covers all
  // of that character, so a range touching the character takes every piece of it.
  auto is_continuation = [&](size_t at) { return at < spelled.size() && (uint8_t(spelled[at]) & 0xC0) == 0x80; };
  int64_t cp = 0;  // code points before byte_begin[i], counting a character cut there as before it
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t b = out.byte_begin[i], e = out.byte_end[i];
    const int64_t first = is_continuation(b) ? cp - 1 : cp;
    cp += code_point_offset(spelled.substr(b, e - b), e - b);
    out.chars.push_back({first, cp});
  }
  return out;
}

std::string spelling_of(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += tokenizer.piece_bytes(id);
  return s;
}

std::vector<TokenId> encode_continuation(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<TokenId> ids = tokenizer.encode(text);
  if (text.compare(0, 1, " ") == 0 && spelling_of(tokenizer, ids) != text) {
    std::vector<TokenId> without = tokenizer.encode(std::string_view(text).substr(1));
    if (spelling_of(tokenizer, without) == text) return without;
  }
  return ids;
}

std::vector<Span> token_spans_of(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, const std::string& text,
                                 const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  const int64_t n_chars = code_point_offset(text, text.size());
  const std::vector<Span> covers = token_layout(tokenizer, ids, text).chars;
  std::vector<Span> out;
  for (const auto& [begin, end] : ranges) {
    if (begin < 0 || end <= begin || end > n_chars)
      fail(str_cat("span '", begin, ":", end, "'"), "is empty or outside the text's ", n_chars, " characters");
    Span s{int64_t(ids.size()), 0};
    for (size_t i = 0; i < ids.size(); ++i)
      if (covers[i].begin < end && covers[i].end > begin && covers[i].end > covers[i].begin)
        s.begin = std::min(s.begin, int64_t(i)), s.end = int64_t(i + 1);
    if (s.end > s.begin) out.push_back(s);
  }
  return out;
}

}  // namespace sculpt
