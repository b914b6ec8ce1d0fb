// Logit filters shared by the drafter's and the refiner's samplers: repetition penalty,
// temperature, top-k, top-p and min-p, as small pure functions.
//
//   at::Tensor filtered = sculpt::apply_top_p(sculpt::apply_temperature(logits, 0.8), 0.95);
//   at::Tensor probs = at::softmax(filtered, /*dim=*/-1);   // filtered-out entries are 0
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace sculpt {

// The helpers below take logits [batch, n_vocab] or one row [n_vocab] of a floating dtype,
// never modify them, and return a new tensor of the same shape and dtype in which filtered-out
// entries are -inf. Logits may contain -inf (already masked) but not NaN or +inf; a wrong rank,
// a non-floating dtype or NaN throws sculpt::Error.

// Checks logits [batch, n_vocab] or [n_vocab] as described above and returns them as
// [batch, n_vocab] (a view); `where` names the caller in the error.
at::Tensor logits_as_rows(const char* where, const at::Tensor& logits);

// CTRL repetition penalty (Keskar et al. 2019, eq. 3, as in HF and llama.cpp): for each token
// id in the row's context, logit / penalty if logit > 0, else logit * penalty; each id once,
// however often it occurs. context_per_row has one list per row (or is empty: no context).
// penalty must be finite and > 0; ids must be in [0, n_vocab).
at::Tensor apply_repetition_penalty(const at::Tensor& logits,
                                    const std::vector<std::vector<int64_t>>& context_per_row,
                                    double penalty);

// logits / temperature; temperature must be finite and > 0 (greedy is sample_tokens' job).
at::Tensor apply_temperature(const at::Tensor& logits, double temperature);

// Keeps exactly the k largest logits of each row (ties go to the lower token id); k = 0 or
// k >= n_vocab keeps all; k < 0 throws.
at::Tensor apply_top_k(const at::Tensor& logits, int64_t k);

// Nucleus filter (Holtzman et al. 2020): sorts each row's softmax probabilities descending
// (stable, so ties go to the lower id) and keeps token i of that order iff the mass of the
// tokens before it is < top_p, i.e. the smallest prefix with mass >= top_p. The mass is summed
// in double and a prefix within 1e-6 of top_p counts as reaching it, so a hand-made
// distribution is not split by rounding. The most likely token is always kept. top_p must be
// in (0, 1]; 1 keeps all.
at::Tensor apply_top_p(const at::Tensor& logits, double top_p);

// Min-p filter (Nguyen et al. 2024): keeps tokens with p >= min_p * max_v p, computed as
// exp(logit - max logit) >= min_p in double. min_p must be in [0, 1]; 0 keeps all.
at::Tensor apply_min_p(const at::Tensor& logits, double min_p);

}  // namespace sculpt
