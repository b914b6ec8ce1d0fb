// LoRA adapters (Hu et al. 2021, arXiv:2106.09685) on a Transformer's linear layers, saved and
// loaded in the Hugging Face PEFT layout (adapter_config.json + adapter_model.safetensors with
// base_model.model.<layer>.lora_A.weight / lora_B.weight), so adapters move between Sculpt and
// the Python ecosystem.
//
//   Transformer model = load_transformer("models/drafter");
//   LoraAdapter lora = LoraAdapter::attach(*model, LoraParams{}, /*seed=*/1);  // B = 0: unchanged
//   ... optimise lora.parameters(); the base weights are frozen ...
//   lora.save("build/adapters/news", "models/drafter");
//   LoraAdapter::load(*other_copy, "build/adapters/news").merge();  // W += (alpha / r) B A
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/lora_linear.h"
#include "core/transformer.h"

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
  double scaling() const;
};

class LoraAdapter {
 public:
  LoraAdapter() = default;

  // Fresh adapters on every layer `params.target_modules` matches: A ~ U(-1/sqrt(in), 1/sqrt(in))
  // (PEFT's kaiming_uniform_(a=sqrt(5))) drawn from `seed`, B = 0, so the model is unchanged
  // until B moves. Freezes every base parameter. Throws Error if nothing matches, a rank exceeds
  // a matched layer's min(in, out), or the model already carries an adapter.
  static LoraAdapter attach(TransformerImpl& model, const LoraParams& params, uint64_t seed);

  // Reads a PEFT adapter folder and attaches it (frozen base, as attach). Throws Error naming
  // the file for anything but a plain LoRA adapter, and for one made for another base model:
  // a layer or shape the model lacks, or (adapters Sculpt saved) other base weights.
  static LoraAdapter load(TransformerImpl& model, const std::string& adapter_dir);

  // Writes adapter_config.json and adapter_model.safetensors (float32) into adapter_dir, each
  // atomically; base_model is recorded as base_model_name_or_path.
  void save(const std::string& adapter_dir, const std::string& base_model) const;

  // Folds every update into its base weight (W += scaling * B A) and detaches: the model then
  // computes what it computed with the adapter, at no extra cost. Unfreezes the base.
  void merge();
  // Removes the adapters: the base model again. Unfreezes the base.
  void detach();

  std::vector<at::Tensor> parameters() const;  // lora_A and lora_B of every adapted layer
  int64_t n_parameters() const;
  const LoraParams& params() const { return params_; }
  std::vector<std::string> layer_names() const;  // model.layers.0.self_attn.q_proj, ...
  bool empty() const { return layers_.empty(); }

 private:
  struct Layer {
    std::string name;
    std::shared_ptr<LoraLinearImpl> linear;
  };
  LoraParams params_;
  std::vector<Layer> layers_;
  TransformerImpl* model_ = nullptr;
  std::string base_fingerprint_;
};

// load_transformer(model_dir) with the adapter in adapter_dir ("" = none) merged into its
// weights: an adapted model at the base's speed (the pipeline's drafter_adapter, refiner_adapter).
Transformer load_adapted_transformer(const std::string& model_dir, const std::string& adapter_dir);

// A hash of the model's base weights (names, shapes and values rounded to float16, so a float32
// checkpoint and its float16 export agree); adapters record it to refuse another base model.
std::string base_weights_fingerprint(TransformerImpl& model);

}  // namespace sculpt
