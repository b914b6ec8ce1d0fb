// Logit filters: repetition penalty, temperature, top-k, top-p, min-p; see logit_filters.h.
#include "core/logit_filters.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kTopPTolerance = 1e-6;  // see apply_top_p in the header

}  // namespace

at::Tensor logits_as_rows(const char* where, const at::Tensor& logits) {
  if (!logits.defined()) fail(where, "logits are undefined");
  if (logits.dim() != 1 && logits.dim() != 2)
    fail(where, "logits must be [batch, n_vocab] or [n_vocab], got rank ", logits.dim());
  if (!at::isFloatingType(logits.scalar_type()))
    fail(where, "logits must be floating point, got ", logits.scalar_type());
  if (logits.size(-1) == 0) fail(where, "logits have an empty vocabulary");
  if (logits.numel() > 0) {
    if (logits.isnan().any().item<bool>()) fail(where, "logits contain NaN");
    if (logits.isposinf().any().item<bool>()) fail(where, "logits contain +inf");
  }
  return logits.dim() == 1 ? logits.unsqueeze(0) : logits;
}

at::Tensor apply_repetition_penalty(const at::Tensor& logits,
                                    const std::vector<std::vector<int64_t>>& context_per_row,
                                    double penalty) {
  const char* where = "apply_repetition_penalty";
  at::Tensor rows = logits_as_rows(where, logits);  // [batch, n_vocab]
  if (!(penalty > 0 && std::isfinite(penalty)))
    fail(where, "penalty must be finite and > 0, got ", penalty);
  const int64_t n_batch = rows.size(0);
  const int64_t n_vocab = rows.size(1);
  if (!context_per_row.empty() && static_cast<int64_t>(context_per_row.size()) != n_batch)
    fail(where, "got ", context_per_row.size(), " context lists for ", n_batch, " rows");

  at::Tensor out = rows.clone();  // [batch, n_vocab]
  for (std::size_t r = 0; r < context_per_row.size(); ++r) {
    std::vector<int64_t> ids;  // each context id once, in first-seen order
    std::unordered_set<int64_t> seen;
    for (int64_t id : context_per_row[r]) {
      if (id < 0 || id >= n_vocab)
        fail(where, "row ", r, ": context token id ", id, " is outside [0, ", n_vocab, ")");
      if (seen.insert(id).second) ids.push_back(id);
    }
    if (ids.empty()) continue;
    at::Tensor index = at::tensor(ids, at::kLong);           // [n_ids]
    at::Tensor row = out.select(/*dim=*/0, static_cast<int64_t>(r));  // view, [n_vocab]
    at::Tensor values = row.index_select(/*dim=*/0, index);  // [n_ids]
    row.index_copy_(/*dim=*/0, index,
                    at::where(values > 0, values / penalty, values * penalty));
  }
  return out.view(logits.sizes());
}

at::Tensor apply_temperature(const at::Tensor& logits, double temperature) {
  const char* where = "apply_temperature";
  logits_as_rows(where, logits);
  if (!(temperature > 0 && std::isfinite(temperature)))
    fail(where, "temperature must be finite and > 0, got ", temperature);
  return logits / temperature;
}

at::Tensor apply_top_k(const at::Tensor& logits, int64_t k) {
  const char* where = "apply_top_k";
  at::Tensor rows = logits_as_rows(where, logits);  // [batch, n_vocab]
  if (k < 0) fail(where, "k must be >= 0, got ", k);
  if (k == 0 || k >= rows.size(1)) return logits.clone();
  at::Tensor order = std::get<1>(
      at::sort(rows, /*stable=*/true, /*dim=*/-1, /*descending=*/true));  // [batch, n_vocab]
  at::Tensor keep = order.narrow(/*dim=*/-1, /*start=*/0, /*length=*/k);   // [batch, k]
  at::Tensor out = at::full_like(rows, kNegInf);
  out.scatter_(/*dim=*/-1, keep, rows.gather(/*dim=*/-1, keep));
  return out.view(logits.sizes());
}

at::Tensor apply_top_p(const at::Tensor& logits, double top_p) {
  const char* where = "apply_top_p";
  at::Tensor rows = logits_as_rows(where, logits);  // [batch, n_vocab]
  if (!(top_p > 0 && top_p <= 1)) fail(where, "top_p must be in (0, 1], got ", top_p);
  if (top_p >= 1) return logits.clone();
  const at::Tensor probs = at::softmax(rows.to(at::kDouble), /*dim=*/-1).contiguous();  // [batch, n_vocab]
  const int64_t n_batch = rows.size(0), n_vocab = rows.size(1);
  at::Tensor keep = at::zeros({n_batch, n_vocab}, at::kBool);
  // The kept tokens are a prefix of the vocabulary sorted by probability, descending, ties by
  // id (a stable sort): each token whose mass before it is below top_p. Usually a few dozen, so
  // the prefix is sorted 64 at a time, growing fourfold, rather than the whole vocabulary
  // (which cost more than the decoder's forward pass per drafted token).
  std::vector<int64_t> order(static_cast<size_t>(n_vocab));
  for (int64_t b = 0; b < n_batch; ++b) {
    const double* p = probs.data_ptr<double>() + b * n_vocab;
    bool* k = keep.data_ptr<bool>() + b * n_vocab;
    auto first = [p](int64_t x, int64_t y) { return p[x] > p[y] || (p[x] == p[y] && x < y); };
    std::iota(order.begin(), order.end(), int64_t(0));
    for (int64_t sorted = std::min<int64_t>(n_vocab, 64);; sorted = std::min(n_vocab, sorted * 4)) {
      std::partial_sort(order.begin(), order.begin() + sorted, order.end(), first);
      double cumulative = 0;  // as a cumsum: mass before i = (sum up to i) - p_i
      int64_t i = 0;
      for (; i < sorted; ++i) {
        const double pi = p[order[size_t(i)]];
        cumulative += pi;
        if (i > 0 && !(cumulative - pi < top_p - kTopPTolerance)) break;  // the top token always stays
        k[order[size_t(i)]] = true;
      }
      if (i < sorted || sorted == n_vocab) break;
    }
  }
  return at::where(keep, rows, at::full_like(rows, kNegInf)).view(logits.sizes());
}

at::Tensor apply_min_p(const at::Tensor& logits, double min_p) {
  const char* where = "apply_min_p";
  at::Tensor rows = logits_as_rows(where, logits);  // [batch, n_vocab]
  if (!(min_p >= 0 && min_p <= 1)) fail(where, "min_p must be in [0, 1], got ", min_p);
  if (min_p == 0) return logits.clone();
  at::Tensor wide = rows.to(at::kDouble);
  at::Tensor max_logit = std::get<0>(wide.max(/*dim=*/-1, /*keepdim=*/true));  // [batch, 1]
  at::Tensor keep = at::exp(wide - max_logit) >= min_p;  // p / p_max >= min_p
  return at::where(keep, rows, at::full_like(rows, kNegInf)).view(logits.sizes());
}

}  // namespace sculpt
