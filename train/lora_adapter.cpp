// Training LoRA adapters and saving them as PEFT folders; see lora_adapter.h.
#include "train/lora_adapter.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/lora_merge.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace sculpt {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The distinct last components of the model's layer names, for error messages.
std::string layer_kinds(TransformerImpl& model) {
  std::vector<std::string> kinds;
  for (const auto& [name, linear] : linear_layers(model)) {
    const std::string kind = lora_layer_kind(name);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  return join(kinds);
}

void set_base_trainable(TransformerImpl& model, bool trainable) {
  for (at::Tensor& p : model.parameters()) p.set_requires_grad(trainable);
}

}  // namespace

LoraAdapter LoraAdapter::attach(TransformerImpl& model, const LoraParams& params, uint64_t seed) {
  if (params.rank < 1) fail("lora.rank", params.rank, " must be at least 1");
  if (params.target_modules.empty()) fail("lora.target_modules", "is empty; name the layers to adapt");
  LoraAdapter adapter;
  adapter.params_ = params;
  adapter.model_ = &model;
  for (const auto& [name, linear] : linear_layers(model)) {
    if (!lora_targets_layer(name, params.target_modules)) continue;
    if (linear->has_adapter()) fail("lora", name, " already carries an adapter; merge or detach it first");
    const int64_t limit = std::min(linear->in_features(), linear->out_features());
    if (params.rank > limit)
      fail("lora.rank", params.rank, " is larger than layer ", name, " [", linear->out_features(), " x ",
           linear->in_features(), "] allows (at most ", limit, ")");
    adapter.layers_.push_back({name, linear});
  }
  if (adapter.layers_.empty())
    fail("lora.target_modules", "[", join(params.target_modules), "] match no linear layer of the model; its layers are ",
         layer_kinds(model), " (or all-linear)");
  adapter.base_fingerprint_ = base_weights_fingerprint(model);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  for (const Layer& layer : adapter.layers_) {
    const double bound = 1.0 / std::sqrt(double(layer.linear->in_features()));
    at::Tensor a = at::empty({params.rank, layer.linear->in_features()}).uniform_(-bound, bound, gen);
    at::Tensor b = at::zeros({layer.linear->out_features(), params.rank});
    layer.linear->attach_adapter({a.set_requires_grad(true), b.set_requires_grad(true), params.scaling(), params.dropout});
  }
  set_base_trainable(model, false);
  return adapter;
}

LoraAdapter LoraAdapter::load(TransformerImpl& model, const std::string& adapter_dir) {
  const LoraAdapterFile file = read_lora_adapter(model, adapter_dir);
  LoraAdapter adapter;
  adapter.model_ = &model;
  adapter.params_ = file.params;
  adapter.base_fingerprint_ = file.base_fingerprint.empty() ? base_weights_fingerprint(model) : file.base_fingerprint;
  for (const auto& [layer, linear] : linear_layers(model)) {  // in the model's order
    const auto it = file.layers.find(layer);
    if (it == file.layers.end()) continue;
    if (linear->has_adapter()) fail("lora", layer, " already carries an adapter; merge or detach it first");
    adapter.layers_.push_back({layer, linear});
    at::Tensor a = it->second.first.clone(), b = it->second.second.clone();
    linear->attach_adapter({a.set_requires_grad(true), b.set_requires_grad(true), file.params.scaling(),
                            file.params.dropout});
  }
  set_base_trainable(model, false);
  return adapter;
}

void LoraAdapter::save(const std::string& adapter_dir, const std::string& base_model) const {
  if (layers_.empty()) fail(adapter_dir, "no adapter to save (merged or detached)");
  make_directories(adapter_dir);
  std::vector<at::Tensor> keep_alive;
  std::vector<TensorView> views;
  for (const Layer& layer : layers_) {
    const LoraDelta& d = layer.linear->adapter();
    for (const auto& [suffix, t] : {std::pair<const char*, at::Tensor>{".lora_A.weight", d.a}, {".lora_B.weight", d.b}}) {
      keep_alive.push_back(t.detach().to(at::kFloat).contiguous());
      views.push_back({kLoraTensorPrefix + layer.name + suffix, DType::kF32, keep_alive.back().sizes().vec(),
                       keep_alive.back().data_ptr()});
    }
  }
  write_safetensors(adapter_dir + "/" + kLoraWeightsFile, views, {{"format", "pt"}, {kLoraFingerprintKey, base_fingerprint_}});
  const nlohmann::json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model},
      {"r", params_.rank},
      {"lora_alpha", params_.alpha},
      {"lora_dropout", params_.dropout},
      {"target_modules", params_.target_modules},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", params_.use_rslora},
      {"init_lora_weights", true},
      {"inference_mode", true},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
  };
  write_file_atomic(adapter_dir + "/" + kLoraConfigFile, config.dump(2) + "\n");
}

void LoraAdapter::merge() {
  for (const Layer& layer : layers_) {
    const LoraDelta& d = layer.linear->adapter();
    merge_lora_update(*layer.linear, d.a, d.b, d.scaling);
  }
  detach();
}

void LoraAdapter::detach() {
  for (const Layer& layer : layers_) layer.linear->detach_adapter();
  if (model_) set_base_trainable(*model_, true);
  layers_.clear();
}

std::vector<at::Tensor> LoraAdapter::parameters() const {
  std::vector<at::Tensor> out;
  for (const Layer& layer : layers_) {
    out.push_back(layer.linear->adapter().a);
    out.push_back(layer.linear->adapter().b);
  }
  return out;
}

int64_t LoraAdapter::n_parameters() const {
  int64_t n = 0;
  for (const at::Tensor& t : parameters()) n += t.numel();
  return n;
}

std::vector<std::string> LoraAdapter::layer_names() const {
  std::vector<std::string> out;
  for (const Layer& layer : layers_) out.push_back(layer.name);
  return out;
}

}  // namespace sculpt
