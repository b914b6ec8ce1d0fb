// Reciprocal-rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a passage's fused score is
//   sum over the lists that contain it of 1 / (k + rank),   rank 1-based,
// so agreement between rankers beats a high score in one of them. Passages are matched by id.
//
//   std::vector<Hit> fused = fuse_reciprocal_rank({bm25_hits, dense_hits}, /*rrf_k=*/60, /*k=*/5);
#pragma once

#include <vector>

#include "retrieval/passage.h"

namespace sculpt {

// The k best passages by fused score (ties by passage id); each Hit's score is its fused score.
std::vector<Hit> fuse_reciprocal_rank(const std::vector<std::vector<Hit>>& lists, double rrf_k, size_t k);

}  // namespace sculpt
