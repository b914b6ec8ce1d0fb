// The seeded token sampler, chaining the logit filters of core/logit_filters.h.
#include "core/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <tuple>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {

at::Generator make_sampler_generator(int64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
}

std::vector<SampledToken> sample_tokens(const at::Tensor& logits, const SamplerParams& params,
                                        const std::vector<std::vector<int64_t>>& context_per_row,
                                        at::Generator& gen) {
  const char* where = "sample_tokens";
  params.validate();
  // Double throughout, so that a tiny temperature cannot overflow the scaled logits.
  at::Tensor rows = logits_as_rows(where, logits).to(at::kDouble);  // [batch, n_vocab]
  const int64_t n_batch = rows.size(0);
  if (n_batch > 0 && rows.isneginf().all(/*dim=*/-1).any().item<bool>())
    fail(where, "a row of logits is all -inf");

  // The model's own distribution, for the reported logprob and entropy.
  at::Tensor model_logp = at::log_softmax(rows, /*dim=*/-1);  // [batch, n_vocab]
  // softmax rather than exp(log p): ATen's exp splits a row of a few thousand into an OpenMP
  // region, one per drafted token, waking LibTorch's threads on cores the decoder is using.
  at::Tensor model_p = at::softmax(rows, /*dim=*/-1);
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
