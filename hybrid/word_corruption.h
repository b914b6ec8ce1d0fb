// The benchmark of the fix (Pipeline::edit with nothing asked, `sculpt bench fix`): a text
// with a share of its words replaced, deleted or doubled by an inserted word at random, and
// how much of that damage a fixed text undoes against how many clean words it breaks.
//
//   Corruption c = corrupt_words(text, /*share=*/0.15, vocabulary, /*seed=*/1);
//   FixScore s = score_fix(text, c.text, pipeline.edit({c.text}).text);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sculpt {

struct Corruption {
  std::string text;  // the corrupted text; whitespace between kept words as it was
  int64_t n_replaced = 0, n_deleted = 0, n_inserted = 0;
};

// Each word (a run of non-space bytes) is corrupted with probability `share`, a third each:
// replaced by a vocabulary word, deleted, or preceded by an inserted vocabulary word. Seeded:
// the same arguments give the same text.
Corruption corrupt_words(const std::string& text, double share, const std::vector<std::string>& vocabulary,
                         uint64_t seed);

// Words of the original matched (longest common subsequence) in the corrupted and in the fixed
// text decide: a word missing from the corrupted text (replaced or deleted) is restored when the
// fixed text has it back; a clean word is damaged when the fixed text lost it. Spurious words
// are those matched to nothing (the inserted ones, and whatever replaced a word).
struct FixScore {
  int64_t n_words = 0;      // in the original
  int64_t n_corrupted = 0;  // original words missing from the corrupted text
  int64_t n_restored = 0;   // of those, back in the fixed text
  int64_t n_damaged = 0;    // clean original words the fixed text lost
  int64_t n_spurious_before = 0, n_spurious_after = 0;
  FixScore& operator+=(const FixScore& o);
};

FixScore score_fix(const std::string& original, const std::string& corrupted, const std::string& fixed);

// The words of a text (runs of non-space bytes).
std::vector<std::string> split_words(const std::string& text);

}  // namespace sculpt
