// Training a mixture-of-experts model (core/moe.h): the auxiliary loss that keeps its routing
// balanced, and the per-expert load the trainer logs.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace sculpt {

// The auxiliary load-balancing loss of Switch / Mixtral, as Hugging Face computes it over the
// router logits of every sparse layer (concatenated over tokens):
//   n_experts * sum_k sum_e f[k][e] * P[e],
// f[k][e] = share of tokens whose k-th choice is expert e, P[e] = mean router probability of e.
// It is top_k for perfectly balanced routing and grows as routing concentrates.
at::Tensor load_balancing_loss(const std::vector<at::Tensor>& router_logits, int64_t top_k);

// Share of the (token, choice) assignments each expert received, over all layers: [n_experts],
// summing to 1; 1 / n_experts each when balanced.
at::Tensor expert_load(const std::vector<at::Tensor>& router_logits, int64_t top_k);

}  // namespace sculpt
