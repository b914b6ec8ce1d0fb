// Measuring refinement against a known text: edit accounting (what the refiner fixed and what
// it broke) and the restoration probe (corrupt a share of a clean text at random, re-mask the
// corrupted tokens, count how many the refiner restores).
//
//   RestorationResult r = run_restoration(refiner, context, clean, /*fraction=*/0.15, params, /*seed=*/1);
//   std::printf("restored %.1f%% in %lld passes\n", 100 * r.accuracy, (long long)r.n_forward);
#pragma once

#include <cstdint>
#include <vector>

#include "diffusion_refine/refine_params.h"

namespace sculpt {

class Refiner;  // diffusion_refine/refiner.h

// Token-aligned comparison of a draft, its refinement and a reference (same lengths).
struct EditAccounting {
  int64_t n_tokens = 0;
  int64_t n_changed = 0;       // refined != draft
  int64_t n_wrong_before = 0;  // draft != reference
  int64_t n_wrong_after = 0;   // refined != reference
  int64_t n_fixed = 0;         // draft wrong, refined right
  int64_t n_broken = 0;        // draft right, refined wrong: the damage SpecRef warns of
};
// Throws Error if the three sequences differ in length.
EditAccounting account_edits(const std::vector<int64_t>& draft, const std::vector<int64_t>& refined,
                             const std::vector<int64_t>& reference);

struct RestorationResult {
  int64_t n_corrupted = 0;
  int64_t n_restored = 0;        // corrupted positions given back their clean token
  double accuracy = 0;           // n_restored / n_corrupted
  int64_t n_forward = 0;
  double tokens_per_forward = 0;  // n_corrupted / n_forward
  EditAccounting accounting;     // over the whole draft (editing may touch uncorrupted tokens)
  double seconds = 0;
};

// Replaces round(fraction * n) distinct positions of `clean` (drawn with `seed`) by random
// tokens other than the clean one and [MASK], marks them kMasked, refines, and compares with
// `clean`. Throws Error if nothing would be corrupted.
RestorationResult run_restoration(Refiner& refiner, const std::vector<int64_t>& context,
                                  const std::vector<int64_t>& clean, double fraction, const RefineParams& params,
                                  uint64_t seed);

}  // namespace sculpt
