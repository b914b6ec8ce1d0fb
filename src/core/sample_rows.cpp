// The token sampler over the rows of a tensor; see sample_rows.h.
#include "core/sample_rows.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace sculpt {
namespace {

// Checks logits [batch, n_vocab] and the context lists, then calls
// per_row(row, n_vocab, context) on each row, in double, in row order.
template <class PerRow>
void for_each_row(const at::Tensor& logits, const std::vector<std::vector<TokenId>>& context_per_row,
                  const PerRow& per_row) {
  const char* where = "sample_rows";
  if (!logits.defined() || logits.dim() != 2) fail(where, "logits must be [batch, n_vocab]");
  if (!at::isFloatingType(logits.scalar_type()))
    fail(where, "logits must be floating point, got ", logits.scalar_type());
  const int64_t n_batch = logits.size(0), n_vocab = logits.size(1);
  if (!context_per_row.empty() && int64_t(context_per_row.size()) != n_batch)
    fail(where, "got ", context_per_row.size(), " context lists for ", n_batch, " rows");
  const at::Tensor rows = logits.to(at::kDouble).contiguous();  // [batch, n_vocab]
  static const std::vector<TokenId> kNoContext;
  for (int64_t b = 0; b < n_batch; ++b)
    per_row(rows.data_ptr<double>() + b * n_vocab, n_vocab, context_per_row.empty() ? kNoContext : context_per_row[size_t(b)]);
}

}  // namespace

std::vector<SampledToken> sample_rows(const at::Tensor& logits,
                                      const std::vector<std::vector<TokenId>>& context_per_row, TokenSampler& sampler) {
  std::vector<SampledToken> out;
  for_each_row(logits, context_per_row, [&](const double* row, int64_t n_vocab, const std::vector<TokenId>& context) {
    out.push_back(sampler.sample(row, n_vocab, context));
  });
  return out;
}

std::vector<TokenId> draw_rows(const at::Tensor& logits, const std::vector<std::vector<TokenId>>& context_per_row,
                               TokenSampler& sampler) {
  std::vector<TokenId> out;
  for_each_row(logits, context_per_row, [&](const double* row, int64_t n_vocab, const std::vector<TokenId>& context) {
    out.push_back(sampler.draw(row, n_vocab, context));
  });
  return out;
}

}  // namespace sculpt
