// Reference-free and reference-based measures of generated text, as ablations report them.
// All work on words, not model tokens, so that variants with different tokenizers compare
// fairly: a word is a maximal run of letters and digits (any byte >= 0x80 counts as a letter,
// so UTF-8 words stay whole), lowercased (ASCII); punctuation and spaces separate words.
//
//   std::vector<std::string> w = text_words("The cat, the cat sat.");   // the cat the cat sat
//   repeated_ngram_rate(w, 2);   // 1 - 3 distinct / 4 bigrams = 0.25
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sculpt {

std::vector<std::string> text_words(std::string_view text);

// rep-n (Welleck et al. 2020; SimCTG): 1 - |distinct n-grams| / |n-grams|; 0 when the text has
// fewer than n words. 0 means no n-gram repeats; loops of repeated phrases push it toward 1.
double repeated_ngram_rate(const std::vector<std::string>& words, int n);

// distinct-n (Li et al. 2016): |distinct n-grams| / |n-grams|; 0 when there are none.
double distinct_ngrams(const std::vector<std::string>& words, int n);

// Bag-of-words F1 (as SQuAD's token F1, without its article removal): with c = the multiset
// overlap, precision c / |candidate|, recall c / |reference|, F1 their harmonic mean; 0 when
// either side is empty or nothing overlaps.
double token_f1(const std::vector<std::string>& candidate, const std::vector<std::string>& reference);

}  // namespace sculpt
