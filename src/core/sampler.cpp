// The seeded token sampler, chaining the logit filters of core/logit_filters.h.
#include "core/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

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
  const at::Tensor rows = logits_as_rows(where, logits).to(at::kDouble).contiguous();  // [batch, n_vocab]
  const int64_t n_batch = rows.size(0);
  if (n_batch > 0 && rows.isneginf().all(/*dim=*/-1).any().item<bool>())
    fail(where, "a row of logits is all -inf");
  if (!context_per_row.empty() && static_cast<int64_t>(context_per_row.size()) != n_batch)
    fail(where, "got ", context_per_row.size(), " context lists for ", n_batch, " rows");

  std::vector<SampledToken> out;
  out.reserve(static_cast<size_t>(n_batch));
  const int64_t n_vocab = rows.size(1);
  const double* row = rows.data_ptr<double>();
  if (params.temperature == 0) {
    for (int64_t b = 0; b < n_batch; ++b)
      out.push_back(greedy_token(row + b * n_vocab, n_vocab, context_per_row.empty() ? std::vector<TokenId>{}
                                 : context_per_row[size_t(b)], params.repetition_penalty));
    return out;
  }
  at::Tensor filtered = rows;
  if (params.repetition_penalty != 1.0)
    filtered = apply_repetition_penalty(filtered, context_per_row, params.repetition_penalty);
  filtered = apply_temperature(filtered, params.temperature);
  filtered = apply_top_k(filtered, params.top_k);
  filtered = apply_top_p(filtered, params.top_p);
  filtered = apply_min_p(filtered, params.min_p);
  const at::Tensor probs = at::softmax(filtered, /*dim=*/-1);  // [batch, n_vocab]
  const at::Tensor ids = at::multinomial(probs, /*num_samples=*/1, /*replacement=*/false, gen).squeeze(-1);
  auto id_acc = ids.accessor<int64_t, 1>();
  for (int64_t b = 0; b < n_batch; ++b) out.push_back(model_token(row + b * n_vocab, n_vocab, id_acc[b]));
  return out;
}

}  // namespace sculpt
