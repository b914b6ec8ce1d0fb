// The hyper-parameters of a LoRA adapter (Hu et al. 2021, arXiv:2106.09685): what `sculpt
// finetune` trains (the `lora:` section of a training config) and what an adapter folder's
// adapter_config.json records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

struct LoraParams {
  int64_t rank = 8;        // r, the rank of each update
  double alpha = 16.0;     // the update is scaled by alpha / r (PEFT's lora_alpha)
  double dropout = 0.05;   // dropout on each adapter's input, while training only
  // Layers to adapt, matched as PEFT does: a layer's name equals an entry or ends with "." + the
  // entry (q_proj, model.layers.0.mlp.up_proj); "all-linear" = every projection but lm_head.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  bool use_rslora = false;  // scale by alpha / sqrt(r) instead (rsLoRA, Kalajdzievski 2023)

  template <class V>
  void visit(V& v) {
    v.field("rank", rank, "rank r of each low-rank update", Range{1, 1 << 20});
    v.field("alpha", alpha, "scaling numerator: updates are scaled by alpha / rank", Range{0.0, 1e6});
    v.field("dropout", dropout, "dropout on the adapters' inputs while training", Range{0.0, 0.99});
    v.field("target_modules", target_modules,
            "layers to adapt by name (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head) or all-linear");
    v.field("use_rslora", use_rslora, "scale by alpha / sqrt(rank) (rsLoRA)");
  }
  double scaling() const;  // alpha / rank, or alpha / sqrt(rank) with use_rslora
};

}  // namespace sculpt
