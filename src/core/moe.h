// Sparse mixture-of-experts feed-forward (Mixtral, Jiang et al. 2024; Switch, Fedus et al.
// 2021): a router (linear, hidden -> n_experts logits) picks the top_k experts of each token,
// their softmax over the selected logits weights the experts' outputs, and each expert is a
// SwiGLU MLP. Submodules carry the Hugging Face Mixtral names, so named_parameters() are the
// checkpoint's: block_sparse_moe.gate.weight, block_sparse_moe.experts.E.{w1,w2,w3}.weight.
//
// Dispatch groups tokens by expert: the (token, expert) assignments are sorted by expert and
// every expert runs once, on its group only; no per-token loop and no dense pass over all
// experts, for prefill, cached decoding and refinement alike.
//
//   SparseMoe moe(/*dim=*/256, /*inner=*/704, /*n_experts=*/8, /*top_k=*/2);
//   at::Tensor router_logits;
//   at::Tensor y = moe->forward(x /*[.., 256]*/, &router_logits /*[tokens, 8]*/);
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace sculpt {

// One expert: down(silu(w1 x) * w3 x) with w2 as down, in Mixtral's names.
class ExpertImpl : public torch::nn::Module {
 public:
  ExpertImpl(int64_t dim, int64_t inner);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Linear w1_{nullptr}, w2_{nullptr}, w3_{nullptr};
};
TORCH_MODULE(Expert);

class SparseMoeImpl : public torch::nn::Module {
 public:
  SparseMoeImpl(int64_t dim, int64_t inner, int64_t n_experts, int64_t top_k);

  // x: [..., dim] -> [..., dim]. router_logits (if given) receives the router's logits,
  // [tokens, n_experts], for the load-balancing loss.
  at::Tensor forward(const at::Tensor& x, at::Tensor* router_logits = nullptr);

  int64_t n_experts() const { return int64_t(experts_.size()); }
  int64_t top_k() const { return top_k_; }

 private:
  int64_t top_k_;
  torch::nn::Linear gate_{nullptr};           // the router: [n_experts, dim]
  std::vector<std::shared_ptr<ExpertImpl>> experts_;
};
TORCH_MODULE(SparseMoe);

}  // namespace sculpt
