// The drafter's token samplers: logit filters and the seeded sampler that chains them.
#include "ar_draft/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <tuple>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kTopPTolerance = 1e-6;  // see apply_top_p in the header

// Checks logits [batch, n_vocab] or [n_vocab] and returns them as [batch, n_vocab].
at::Tensor as_batch(const char* where, const at::Tensor& logits) {
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

}  // namespace

void SamplerParams::validate() const {
  const char* where = "SamplerParams";
  if (!(temperature >= 0 && temperature <= 100))
    fail(where, "temperature must be in [0, 100], got ", temperature);
  if (top_k < 0) fail(where, "top_k must be >= 0, got ", top_k);
  if (!(top_p > 0 && top_p <= 1)) fail(where, "top_p must be in (0, 1], got ", top_p);
  if (!(min_p >= 0 && min_p <= 1)) fail(where, "min_p must be in [0, 1], got ", min_p);
  if (!(repetition_penalty > 0 && repetition_penalty <= 100))
    fail(where, "repetition_penalty must be in (0, 100], got ", repetition_penalty);
  if (seed < 0) fail(where, "seed must be >= 0, got ", seed);
}

at::Tensor apply_repetition_penalty(const at::Tensor& logits,
                                    const std::vector<std::vector<int64_t>>& context_per_row,
                                    double penalty) {
  const char* where = "apply_repetition_penalty";
  at::Tensor rows = as_batch(where, logits);  // [batch, n_vocab]
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
  as_batch(where, logits);
  if (!(temperature > 0 && std::isfinite(temperature)))
    fail(where, "temperature must be finite and > 0, got ", temperature);
  return logits / temperature;
}

at::Tensor apply_top_k(const at::Tensor& logits, int64_t k) {
  const char* where = "apply_top_k";
  at::Tensor rows = as_batch(where, logits);  // [batch, n_vocab]
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
  at::Tensor rows = as_batch(where, logits);  // [batch, n_vocab]
  if (!(top_p > 0 && top_p <= 1)) fail(where, "top_p must be in (0, 1], got ", top_p);
  if (top_p >= 1) return logits.clone();
  at::Tensor probs = at::softmax(rows.to(at::kDouble), /*dim=*/-1);  // [batch, n_vocab]
  at::Tensor sorted, order;
  std::tie(sorted, order) = at::sort(probs, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
  at::Tensor mass_before = at::cumsum(sorted, /*dim=*/-1) - sorted;   // [batch, n_vocab]
  at::Tensor keep_sorted = mass_before < (top_p - kTopPTolerance);    // [batch, n_vocab]
  keep_sorted.select(/*dim=*/-1, /*index=*/0).fill_(true);  // the top token always stays
  at::Tensor keep = at::zeros_like(keep_sorted).scatter_(/*dim=*/-1, order, keep_sorted);
  return at::where(keep, rows, at::full_like(rows, kNegInf)).view(logits.sizes());
}

at::Tensor apply_min_p(const at::Tensor& logits, double min_p) {
  const char* where = "apply_min_p";
  at::Tensor rows = as_batch(where, logits);  // [batch, n_vocab]
  if (!(min_p >= 0 && min_p <= 1)) fail(where, "min_p must be in [0, 1], got ", min_p);
  if (min_p == 0) return logits.clone();
  at::Tensor wide = rows.to(at::kDouble);
  at::Tensor max_logit = std::get<0>(wide.max(/*dim=*/-1, /*keepdim=*/true));  // [batch, 1]
  at::Tensor keep = at::exp(wide - max_logit) >= min_p;  // p / p_max >= min_p
  return at::where(keep, rows, at::full_like(rows, kNegInf)).view(logits.sizes());
}

at::Generator make_sampler_generator(int64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
}

std::vector<SampledToken> sample_tokens(const at::Tensor& logits, const SamplerParams& params,
                                        const std::vector<std::vector<int64_t>>& context_per_row,
                                        at::Generator& gen) {
  const char* where = "sample_tokens";
  params.validate();
  // Double throughout, so that a tiny temperature cannot overflow the scaled logits.
  at::Tensor rows = as_batch(where, logits).to(at::kDouble);  // [batch, n_vocab]
  const int64_t n_batch = rows.size(0);
  if (n_batch > 0 && rows.isneginf().all(/*dim=*/-1).any().item<bool>())
    fail(where, "a row of logits is all -inf");

  // The model's own distribution, for the reported logprob and entropy.
  at::Tensor model_logp = at::log_softmax(rows, /*dim=*/-1);  // [batch, n_vocab]
  at::Tensor model_p = model_logp.exp();
  at::Tensor p_logp = at::where(model_p > 0, model_p * model_logp, at::zeros_like(model_p));
  at::Tensor entropy = -p_logp.sum(/*dim=*/-1);  // [batch]

  at::Tensor filtered = rows;
  if (params.repetition_penalty != 1.0)
    filtered = apply_repetition_penalty(filtered, context_per_row, params.repetition_penalty);
  else if (!context_per_row.empty() && static_cast<int64_t>(context_per_row.size()) != n_batch)
    fail(where, "got ", context_per_row.size(), " context lists for ", n_batch, " rows");

  at::Tensor ids;  // [batch]
  if (params.temperature == 0) {
    ids = filtered.argmax(/*dim=*/-1);
  } else {
    filtered = apply_temperature(filtered, params.temperature);
    filtered = apply_top_k(filtered, params.top_k);
    filtered = apply_top_p(filtered, params.top_p);
    filtered = apply_min_p(filtered, params.min_p);
    at::Tensor probs = at::softmax(filtered, /*dim=*/-1);  // [batch, n_vocab]
    ids = at::multinomial(probs, /*num_samples=*/1, /*replacement=*/false, gen).squeeze(-1);
  }

  at::Tensor id_logp = model_logp.gather(/*dim=*/-1, ids.unsqueeze(-1)).squeeze(-1);  // [batch]
  auto id_acc = ids.accessor<int64_t, 1>();
  auto logp_acc = id_logp.accessor<double, 1>();
  auto entropy_acc = entropy.accessor<double, 1>();
  std::vector<SampledToken> out(static_cast<std::size_t>(n_batch));
  for (int64_t b = 0; b < n_batch; ++b) {
    out[b].id = id_acc[b];
    out[b].logprob = static_cast<float>(logp_acc[b]);
    out[b].entropy = static_cast<float>(entropy_acc[b]);
  }
  return out;
}

}  // namespace sculpt
