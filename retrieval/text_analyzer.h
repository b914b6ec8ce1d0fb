// Text into index terms: Unicode-aware word splitting (letters and digits of any script, by ICU
// character properties), normalisation (NFKC case folding, then diacritics dropped: "Café" and
// "CAFE" are one term), optional stop words, optional Snowball stemming (libstemmer). The same
// analyzer must index and query, so its params are saved with the index.
//
//   TextAnalyzer a(AnalyzerParams{});
//   a.terms("The Jury's décisions")  // {"juri", "decis"} with the defaults
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "retrieval/retrieval_params.h"

namespace sculpt {

// A word of the source text: byte offsets [start, end) in the UTF-8 text.
struct WordSpan {
  size_t start = 0;
  size_t end = 0;
};

// Maximal runs of letters, digits and combining marks. Invalid UTF-8 bytes separate words.
std::vector<WordSpan> split_words(std::string_view text);

// NFKC case folding with diacritics removed; ASCII takes a fast path. Returns "" for "".
std::string normalize_word(std::string_view word);

class TextAnalyzer {
 public:
  explicit TextAnalyzer(const AnalyzerParams& params);
  ~TextAnalyzer();
  TextAnalyzer(TextAnalyzer&&) noexcept;
  TextAnalyzer& operator=(TextAnalyzer&&) noexcept;

  // The index terms of `text`, in order, with repeats. Thread-safe.
  std::vector<std::string> terms(std::string_view text) const;

  const AnalyzerParams& params() const { return params_; }

 private:
  struct Stemmer;
  AnalyzerParams params_;
  std::unique_ptr<Stemmer> stemmer_;
};

}  // namespace sculpt
