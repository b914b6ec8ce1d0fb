// How many masked positions a denoising step commits, and which: the small pure helpers of the
// refiner's samplers, each tested against its definition.
//
//   std::vector<int64_t> k = num_transfer_tokens(/*n_masked=*/10, /*n_steps=*/4, RemaskSchedule::kLinear);
//   // {3, 3, 2, 2}
//   std::vector<int64_t> chosen = select_by_confidence({0.2f, 0.9f, 0.5f}, /*k=*/2);  // {1, 2}
#pragma once

#include <cstdint>
#include <vector>

#include "diffusion_refine/refine_params.h"  // RemaskSchedule

namespace sculpt {

// Tokens to commit at each of the steps that write n_masked positions in at most n_steps steps.
// Linear: n_masked / n_steps each, the remainder one each to the earliest steps (LLaDA,
// Nie et al. 2025, App. B). Cosine: after step s, floor(n_masked * cos(pi/2 * s / n_steps))
// positions stay masked. Either way every step commits at least one, so there are
// min(n_masked, n_steps) steps, and the counts sum to n_masked. n_masked 0 gives {}.
std::vector<int64_t> num_transfer_tokens(int64_t n_masked, int64_t n_steps, RemaskSchedule schedule);

// Indices of the k largest confidences, most confident first; ties go to the lower index.
// k is clamped to [0, size].
std::vector<int64_t> select_by_confidence(const std::vector<float>& confidence, int64_t k);

// Fast-dLLM's threshold rule (Wu et al. 2025): every index with confidence >= tau, and the most
// confident one when none reaches it (so each step commits at least one). Ascending indices.
// The comparison is in float, the precision of the confidences.
std::vector<int64_t> select_by_threshold(const std::vector<float>& confidence, double tau);

}  // namespace sculpt
