// The token sampler over the rows of a tensor; see sample_rows.h.
#include "core/sample_rows.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace sculpt {

std::vector<SampledToken> sample_rows(const at::Tensor& logits,
                                      const std::vector<std::vector<TokenId>>& context_per_row, TokenSampler& sampler) {
  const char* where = "sample_rows";
  if (!logits.defined() || logits.dim() != 2) fail(where, "logits must be [batch, n_vocab]");
  if (!at::isFloatingType(logits.scalar_type()))
    fail(where, "logits must be floating point, got ", logits.scalar_type());
  const int64_t n_batch = logits.size(0), n_vocab = logits.size(1);
  if (!context_per_row.empty() && int64_t(context_per_row.size()) != n_batch)
    fail(where, "got ", context_per_row.size(), " context lists for ", n_batch, " rows");
  const at::Tensor rows = logits.to(at::kDouble).contiguous();  // [batch, n_vocab]
  std::vector<SampledToken> out;
  out.reserve(size_t(n_batch));
  static const std::vector<TokenId> kNoContext;
  for (int64_t b = 0; b < n_batch; ++b)
    out.push_back(sampler.sample(rows.data_ptr<double>() + b * n_vocab, n_vocab,
                                 context_per_row.empty() ? kNoContext : context_per_row[size_t(b)]));
  return out;
}

}  // namespace sculpt
