// Copy candidates by brute force: passages are a few hundred tokens, matches are capped at 64.
#include "ar_draft/reference_copy.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace sculpt {
namespace {
constexpr int64_t kMaxMatch = 64;  // longer matches copy the same way; the cap bounds the cost
}  // namespace

CopyCandidates find_copy_candidates(const std::vector<int64_t>& context, const std::vector<int64_t>& reference,
                                    int min_match) {
  CopyCandidates out;
  if (min_match < 1 || context.empty()) return out;
  const int64_t n_ctx = int64_t(context.size());
  std::map<int64_t, int64_t> counts;  // token after a longest match -> occurrences
  int64_t best = 0, n_best = 0;
  // Position j of the reference is a candidate next token; its match is the run of tokens
  // before j that equals the context's end.
  for (int64_t j = 1; j < int64_t(reference.size()); ++j) {
    int64_t len = 0;
    while (len < kMaxMatch && len < j && len < n_ctx && reference[size_t(j - 1 - len)] == context[size_t(n_ctx - 1 - len)])
      ++len;
    if (len < min_match || len < best) continue;
    if (len > best) {
      best = len;
      n_best = 0;
      counts.clear();
    }
    ++counts[reference[size_t(j)]];
    ++n_best;
  }
  out.match_length = best;
  for (const auto& [token, count] : counts) out.next.push_back({token, double(count) / double(n_best)});
  return out;
}

at::Tensor mix_copy_distribution(const at::Tensor& logits, const CopyCandidates& candidates, double weight) {
  if (logits.dim() != 1) fail("copy", "expected one row of logits, got ", logits.dim(), " dimensions");
  if (!(weight >= 0 && weight <= 1)) fail("draft.copy.weight", "must be in [0, 1], got ", weight);
  at::Tensor logp = at::log_softmax(logits.to(at::kFloat), /*dim=*/0);
  if (candidates.next.empty() || weight == 0) return logp;
  at::Tensor p = logp.exp() * float(1 - weight);
  float* pp = p.data_ptr<float>();
  for (const auto& [token, q] : candidates.next) {
    if (token < 0 || token >= p.size(0)) fail("copy", "token ", token, " is outside the vocabulary of ", p.size(0));
    pp[token] += float(weight * q);
  }
  return p.log();
}

}  // namespace sculpt
