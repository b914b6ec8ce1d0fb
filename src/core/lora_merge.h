// LoRA adapter folders in the Hugging Face PEFT layout (adapter_config.json +
// adapter_model.safetensors with base_model.model.<layer>.lora_A.weight / lora_B.weight), read
// and folded into a model's weights: W += scaling * B A, an adapted model at the base's speed
// (the pipeline's drafter_adapter and refiner_adapter, `sculpt lora merge`). Training adapters
// is train/lora_adapter.h.
//
//   Transformer model = load_adapted_transformer("models/drafter", "build/adapters/news");
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/lora_linear.h"
#include "core/lora_params.h"
#include "core/runtime_params.h"
#include "core/transformer.h"

namespace sculpt {

// The PEFT layout's names.
inline constexpr const char* kLoraConfigFile = "adapter_config.json";
inline constexpr const char* kLoraWeightsFile = "adapter_model.safetensors";
inline constexpr const char* kLoraTensorPrefix = "base_model.model.";  // PEFT's wrapper around the base model
inline constexpr const char* kLoraFingerprintKey = "sculpt_base_fingerprint";  // metadata of Sculpt's own adapters

// An adapter folder, checked against the model it is for.
struct LoraAdapterFile {
  LoraParams params;  // rank, alpha, dropout, rsLoRA; target_modules = the kinds of layer adapted
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> layers;  // layer name -> (A [r, in], B [out, r]), float32
  std::string base_fingerprint;  // recorded by Sculpt's own adapters; "" otherwise
};

// Reads <adapter_dir> and checks it fits `model`. Throws Error naming the file for anything but
// a plain LoRA adapter, and for one made for another base model: a layer or shape the model
// lacks, or (adapters Sculpt saved) other base weights.
LoraAdapterFile read_lora_adapter(TransformerImpl& model, const std::string& adapter_dir);

// W += scaling * B A for every layer of the adapter.
void merge_lora_adapter(TransformerImpl& model, const LoraAdapterFile& adapter);
// The same for one layer: a [r, in], b [out, r].
void merge_lora_update(LoraLinearImpl& linear, const at::Tensor& a, const at::Tensor& b, double scaling);

// load_transformer(model_dir) with the adapter in adapter_dir ("" = none) merged into its weights,
// which are held in `dtype` (core/runtime_params.h).
Transformer load_adapted_transformer(const std::string& model_dir, const std::string& adapter_dir,
                                     WeightsDType dtype = WeightsDType::kF32);

// A hash of the model's base weights (names, shapes and values rounded to float16, so a float32
// checkpoint and its float16 export agree); adapters record it to refuse another base model.
std::string base_weights_fingerprint(TransformerImpl& model);

// The model's linear layers (the ones an adapter may target) by name, in module order.
std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> linear_layers(TransformerImpl& model);

// The kind of a layer: the last component of its name ("q_proj").
std::string lora_layer_kind(const std::string& layer);

// PEFT's check_target_module_exists for a list of names ("q_proj", "all-linear", a full name).
bool lora_targets_layer(const std::string& layer, const std::vector<std::string>& targets);

}  // namespace sculpt
