// Copying from retrieved passages while drafting. The drafter's next-token distribution is
// mixed with a copy distribution q over the tokens that followed the longest match of the
// draft's last tokens in the passages: kNN-LM's interpolation (Khandelwal et al. 2020) with
// n-gram matches against the passages as the datastore, as LLMA (Yang et al. 2023) and REST
// (He et al. 2023) find them:
//   p(x) = (1 - weight) p_model(x) + weight q(x)   when the match has >= min_match tokens,
//   p(x) = p_model(x)                              otherwise.
// A small drafter barely attends to passages in its context; this lets it quote them.
//
//   CopyCandidates c = find_copy_candidates(draft_so_far, passage_ids, /*min_match=*/4);
//   at::Tensor row = mix_copy_distribution(logits_row, c, /*weight=*/0.8);  // log p, [n_vocab]
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "ar_draft/draft_params.h"  // CopyParams

namespace sculpt {

// The longest suffix of `context` (at least min_match tokens, at most 64) that occurs in
// `reference` followed by a token, and the distribution of the tokens that follow its
// occurrences (count / occurrences, ascending by id). No match: match_length 0, next empty.
struct CopyCandidates {
  int64_t match_length = 0;
  std::vector<std::pair<int64_t, double>> next;  // (token, q)
};
CopyCandidates find_copy_candidates(const std::vector<int64_t>& context, const std::vector<int64_t>& reference,
                                    int min_match);

// log((1 - weight) softmax(logits) + weight q) for one row of logits [n_vocab]: a row of
// log-probabilities that the sampler takes as logits. No candidates: log_softmax(logits).
at::Tensor mix_copy_distribution(const at::Tensor& logits, const CopyCandidates& candidates, double weight);

}  // namespace sculpt
