// Token-window chunking with boundary preference (see chunker.h).
#include "retrieval/chunker.h"

#include <algorithm>

#include "core/error.h"
#include "retrieval/text_analyzer.h"

namespace sculpt {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

enum class Boundary { kNone, kSentence, kParagraph };

// What separates the word ending at `prev_end` from the one starting at `next_start`.
Boundary boundary_between(const std::string& text, size_t prev_end, size_t next_start) {
  bool sentence = false;
  size_t newlines = 0;
  for (size_t i = prev_end; i < next_start; ++i) {
    const char c = text[i];
    if (c == '\n') ++newlines;
    if (c == '.' || c == '!' || c == '?') sentence = true;
  }
  // One paragraph per line is common in plain-text corpora (Brown), so one newline is enough.
  if (newlines > 0) return Boundary::kParagraph;
  return sentence ? Boundary::kSentence : Boundary::kNone;
}

}  // namespace

void ChunkParams::validate() const {
  if (overlap >= max_tokens) fail("overlap", overlap, " must be less than max_tokens (", max_tokens, ")");
}

std::vector<Passage> chunk_document(const Document& doc, const ChunkParams& params) {
  params.validate();
  const std::string& text = doc.text;
  const std::vector<WordSpan> words = split_words(text);
  const size_t n = words.size();
  const size_t max_words = size_t(params.max_tokens);
  std::vector<Passage> out;
  size_t first = 0;
  while (first < n) {
    size_t last = std::min(first + max_words, n);  // one past the passage's last word
    if (last < n) {
      // The latest paragraph break, else the latest sentence end, in the window's second half.
      size_t best_paragraph = 0, best_sentence = 0;
      for (size_t j = first + std::max<size_t>(1, max_words / 2); j < last + 1 && j < n; ++j) {
        const Boundary b = boundary_between(text, words[j - 1].end, words[j].start);
        if (b == Boundary::kParagraph) best_paragraph = j;
        if (b != Boundary::kNone) best_sentence = j;
      }
      if (best_paragraph > first) last = best_paragraph;
      else if (best_sentence > first) last = best_sentence;
    }
    // Extend over punctuation glued to the first and last words (quotes, full stops).
    size_t start = words[first].start;
    while (start > 0 && !is_space(text[start - 1])) --start;
    if (first > 0) start = std::max(start, words[first - 1].end);
    size_t end = words[last - 1].end;
    while (end < text.size() && !is_space(text[end])) ++end;
    if (last < n) end = std::min(end, words[last].start);
    out.push_back(Passage{doc.id, start, end, text.substr(start, end - start)});
    if (last >= n) break;
    const size_t overlap = std::min(size_t(params.overlap), last - first - 1);
    first = last - overlap;
  }
  return out;
}

}  // namespace sculpt
