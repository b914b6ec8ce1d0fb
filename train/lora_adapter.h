// Training LoRA adapters (Hu et al. 2021, arXiv:2106.09685) on a Transformer's linear layers,
// saved and loaded in the Hugging Face PEFT layout (core/lora_merge.h reads the files), so
// adapters move between Sculpt and the Python ecosystem.
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

#include "core/lora_linear.h"
#include "core/lora_params.h"
#include "core/transformer.h"

namespace sculpt {

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

}  // namespace sculpt
