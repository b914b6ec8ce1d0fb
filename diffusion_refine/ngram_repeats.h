// Repeated token n-grams inside one region of a sequence: which drafted tokens end an n-gram the
// draft already had (span selection re-masks them) and which tokens the refiner may not write
// at a position because they would repeat one (the no-repeat-n-gram constraint of Paulus et
// al. 2017, as Hugging Face's no_repeat_ngram_size, over a canvas filled in any order).
//
//   std::vector<uint8_t> ends = repeated_ngram_ends(draft, 4);        // 1 = ends a repeat
//   NgramRegion region{tokens, known, begin, end, 4};
//   std::vector<int64_t> banned = region.banned_at(i);              // never write these at i
#pragma once

#include <cstdint>
#include <vector>

namespace sculpt {

// ends[i] = 1 when tokens[i-n+1 .. i] also occurs ending before i (its second and later
// occurrences are marked, never the first). n < 1 or fewer than n tokens: all zeros.
std::vector<uint8_t> repeated_ngram_ends(const std::vector<int64_t>& tokens, int n);

// The positions [begin, end) of `tokens` in which n-grams count; known[i] = 0 marks a position
// not decided yet (a mask): no n-gram over it exists yet. Holds references: the caller keeps
// tokens and known alive and may change them between calls.
struct NgramRegion {
  const std::vector<int64_t>& tokens;
  const std::vector<uint8_t>& known;
  int64_t begin = 0;
  int64_t end = 0;
  int n = 0;

  // Tokens that, written at position i of the region, would make an n-gram through i equal to
  // another n-gram of the region, where every token of both but i is known (i's current token
  // is ignored; the other n-gram may overlap i). Ascending, no duplicates; empty when n < 1.
  std::vector<int64_t> banned_at(int64_t i) const;
  // Whether the known token at i is part of a fully known n-gram that occurs elsewhere in the
  // region.
  bool repeats_at(int64_t i) const;
};

}  // namespace sculpt
