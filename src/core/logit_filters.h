// Logit filters shared by the drafter's and the refiner's samplers: repetition penalty,
// temperature, top-k, top-p and min-p, as small pure functions on one row of logits. Torch-free.
//
//   std::vector<double> row(logits, logits + n_vocab);
//   sculpt::apply_temperature(row, 0.8);
//   sculpt::apply_top_p(row, 0.95);                 // filtered-out entries are now -inf
#pragma once

#include <cstdint>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// Each filter takes one row of logits [n_vocab] in double and changes it in place: filtered-out
// entries become -inf, kept ones keep their value. A row may contain -inf (already masked) but
// not NaN or +inf, and must not be empty; those throw sculpt::Error, as do bad settings.

// Checks a row as described above; `where` names the caller in the error.
void check_logit_row(const char* where, const std::vector<double>& row);

// CTRL repetition penalty (Keskar et al. 2019, eq. 3, as in HF and llama.cpp): for each token
// id in `context`, logit / penalty if logit > 0, else logit * penalty; each id once, however
// often it occurs. penalty must be finite and > 0; ids must be in [0, n_vocab).
void apply_repetition_penalty(std::vector<double>& row, const std::vector<TokenId>& context, double penalty);

// logits / temperature; temperature must be finite and > 0 (greedy is the sampler's job).
void apply_temperature(std::vector<double>& row, double temperature);

// Keeps exactly the k largest logits (ties go to the lower token id); k = 0 or k >= n_vocab
// keeps all; k < 0 throws.
void apply_top_k(std::vector<double>& row, int64_t k);

// Nucleus filter (Holtzman et al. 2020): sorts the row's softmax probabilities descending
// (ties by id, lower first) and keeps token i of that order iff the mass of the tokens before
// it is < top_p, i.e. the smallest prefix with mass >= top_p. The mass is summed in double and
// a prefix within 1e-6 of top_p counts as reaching it, so a hand-made distribution is not split
// by rounding. The most likely token is always kept. top_p must be in (0, 1]; 1 keeps all.
void apply_top_p(std::vector<double>& row, double top_p);

// Min-p filter (Nguyen et al. 2024): keeps tokens with p >= min_p * max_v p, computed as
// exp(logit - max logit) >= min_p. min_p must be in [0, 1]; 0 keeps all.
void apply_min_p(std::vector<double>& row, double min_p);

// softmax(row) in place: exp(x - max) / sum, with -inf entries 0. The row must have a finite
// maximum.
void softmax_in_place(std::vector<double>& row);

}  // namespace sculpt
