// Load balancing of mixture-of-experts routing; see moe_balance.h.
#include "train/moe_balance.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace sculpt {
namespace {

at::Tensor concatenated(const std::vector<at::Tensor>& router_logits) {
  if (router_logits.empty()) fail("load balancing", "no router logits: the model has no sparse layer");
  return at::cat(router_logits, /*dim=*/0).to(at::kFloat);  // [layers * T, E]
}

// f[k][e]: share of tokens whose k-th choice is expert e. [k, E]
at::Tensor choice_shares(const at::Tensor& logits, int64_t top_k) {
  const at::Tensor chosen = std::get<1>(at::topk(logits, top_k, /*dim=*/-1));  // [N, k]
  return at::one_hot(chosen, logits.size(1)).to(at::kFloat).mean(/*dim=*/0);  // [k, E]
}

}  // namespace

at::Tensor load_balancing_loss(const std::vector<at::Tensor>& router_logits, int64_t top_k) {
  const at::Tensor logits = concatenated(router_logits);
  const at::Tensor probs = at::softmax(logits, /*dim=*/-1).mean(/*dim=*/0);  // P[e]
  return (choice_shares(logits, top_k) * probs.unsqueeze(0)).sum() * double(logits.size(1));
}

at::Tensor expert_load(const std::vector<at::Tensor>& router_logits, int64_t top_k) {
  at::NoGradGuard no_grad;
  return choice_shares(concatenated(router_logits), top_k).sum(/*dim=*/0) / double(top_k);
}

}  // namespace sculpt
