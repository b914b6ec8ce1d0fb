// Reciprocal-rank fusion (see rank_fusion.h).
#include "retrieval/rank_fusion.h"

#include <algorithm>
#include <map>

namespace sculpt {

std::vector<Hit> fuse_reciprocal_rank(const std::vector<std::vector<Hit>>& lists, double rrf_k, size_t k) {
  std::map<uint64_t, Hit> fused;  // by passage id
  for (const std::vector<Hit>& list : lists) {
    for (size_t rank = 0; rank < list.size(); ++rank) {
      auto [it, inserted] = fused.emplace(list[rank].passage_id, list[rank]);
      if (inserted) it->second.score = 0;
      it->second.score += 1.0 / (rrf_k + double(rank + 1));
    }
  }
  std::vector<Hit> out;
  out.reserve(fused.size());
  for (auto& [id, hit] : fused) out.push_back(std::move(hit));
  std::stable_sort(out.begin(), out.end(), [](const Hit& a, const Hit& b) { return a.score > b.score; });
  if (out.size() > k) out.resize(k);
  return out;
}

}  // namespace sculpt
