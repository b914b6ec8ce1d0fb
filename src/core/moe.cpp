#include "core/moe.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "core/lora_linear.h"

namespace sculpt {

namespace nn = torch::nn;

ExpertImpl::ExpertImpl(int64_t dim, int64_t inner) {
  w1_ = register_module("w1", nn::Linear(nn::LinearOptions(dim, inner).bias(false)));
  w2_ = register_module("w2", nn::Linear(nn::LinearOptions(inner, dim).bias(false)));
  w3_ = register_module("w3", nn::Linear(nn::LinearOptions(dim, inner).bias(false)));
}

at::Tensor ExpertImpl::forward(const at::Tensor& x) {
  const auto linear = [&](const nn::Linear& w, const at::Tensor& in) { return linear_forward(in, w->weight); };
  return linear(w2_, at::silu(linear(w1_, x)) * linear(w3_, x));
}

SparseMoeImpl::SparseMoeImpl(int64_t dim, int64_t inner, int64_t n_experts, int64_t top_k) : top_k_(top_k) {
  if (n_experts < 1 || top_k < 1 || top_k > n_experts)
    fail("mixture of experts", "top_k ", top_k, " must be in [1, n_experts = ", n_experts, "]");
  gate_ = register_module("gate", nn::Linear(nn::LinearOptions(dim, n_experts).bias(false)));
  nn::ModuleList experts;
  for (int64_t e = 0; e < n_experts; ++e) {
    experts_.push_back(std::make_shared<ExpertImpl>(dim, inner));
    experts->push_back(experts_.back());
  }
  register_module("experts", experts);
}

at::Tensor SparseMoeImpl::forward(const at::Tensor& x, at::Tensor* router_logits) {
  const int64_t dim = x.size(-1);
  const at::Tensor flat = x.reshape({-1, dim});  // [T, dim]
  const at::Tensor logits = linear_forward(flat, gate_->weight);  // [T, E]
  if (router_logits) *router_logits = logits;
  // Softmax over the selected logits (Mixtral: softmax over all, top-k, renormalise: the same).
  auto [top_logits, chosen] = at::topk(logits, top_k_, /*dim=*/-1);  // [T, k] each
  const at::Tensor weights = at::softmax(top_logits.to(at::kFloat), /*dim=*/-1).to(x.scalar_type());

  // Group the T * k assignments by expert: a stable sort keeps tokens in order within a group.
  const at::Tensor expert_of = chosen.reshape({-1});                                // [T * k]
  const at::Tensor order = std::get<1>(at::sort(expert_of, c10::optional<bool>(true), /*dim=*/0));  // assignment ids
  const at::Tensor token_of = at::floor_divide(order, top_k_);                       // their tokens
  const at::Tensor weight_of = weights.reshape({-1}).index_select(0, order).unsqueeze(1);
  const at::Tensor counts = at::bincount(expert_of, /*weights=*/{}, /*minlength=*/n_experts()).to(at::kLong);
  const int64_t* count = counts.data_ptr<int64_t>();

  at::Tensor out = at::zeros_like(flat);
  int64_t begin = 0;
  for (int64_t e = 0; e < n_experts(); ++e) {
    const int64_t n = count[e];
    if (n == 0) continue;
    const at::Tensor tokens = token_of.narrow(0, begin, n);
    const at::Tensor y = experts_[size_t(e)]->forward(flat.index_select(0, tokens)) * weight_of.narrow(0, begin, n);
    out = out.index_add(0, tokens, y);
    begin += n;
  }
  return out.view(x.sizes());
}

}  // namespace sculpt
