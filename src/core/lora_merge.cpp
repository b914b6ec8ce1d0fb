// Reading PEFT adapter folders and merging them into a model; see lora_merge.h.
#include "core/lora_merge.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace sculpt {
namespace {

double number_field(const nlohmann::json& config, const char* key, const std::string& path) {
  if (!config.contains(key) || !config[key].is_number()) fail(path, "\"", key, "\" must be a number");
  return config[key].get<double>();
}

// Refuses the PEFT features Sculpt does not implement, rather than loading them wrong.
void check_plain_lora(const nlohmann::json& config, const std::string& path) {
  auto is_set = [&](const char* key) {
    if (!config.contains(key) || config[key].is_null()) return false;
    const nlohmann::json& v = config[key];
    return !(v == false || (v.is_object() && v.empty()) || (v.is_array() && v.empty()));
  };
  if (!config.contains("peft_type") || config["peft_type"] != "LORA")
    fail(path, "peft_type must be \"LORA\", got ", config.contains("peft_type") ? config["peft_type"].dump() : "nothing");
  if (config.contains("bias") && config["bias"] != "none")
    fail(path, "bias ", config["bias"].dump(), " is not supported (only \"none\": no bias adapters)");
  for (const char* key : {"fan_in_fan_out", "use_dora", "modules_to_save", "rank_pattern", "alpha_pattern",
                          "layers_to_transform", "layer_replication"})
    if (is_set(key)) fail(path, "\"", key, "\" is set (", config[key].dump(), "); Sculpt reads plain LoRA adapters only");
}

LoraParams read_adapter_config(const std::string& config_path) {
  const nlohmann::json config = nlohmann::json::parse(read_file(config_path, size_t(1) << 20), nullptr, false);
  if (config.is_discarded() || !config.is_object()) fail(config_path, "is not a JSON object");
  check_plain_lora(config, config_path);
  LoraParams params;
  const double r = number_field(config, "r", config_path);
  if (r < 1 || r != std::floor(r)) fail(config_path, "\"r\" must be a positive integer, got ", r);
  params.rank = int64_t(r);
  params.alpha = number_field(config, "lora_alpha", config_path);
  params.dropout = config.contains("lora_dropout") ? number_field(config, "lora_dropout", config_path) : 0.0;
  params.use_rslora = config.value("use_rslora", false);
  params.target_modules.clear();
  return params;
}

// A stored matrix as float32 (memcpy: safetensors data may be misaligned).
at::Tensor read_matrix(const SafetensorsFile& file, const TensorInfo& info) {
  std::vector<float> values(size_t(info.numel()));
  const uint8_t* src = file.data(info);
  for (size_t i = 0; i < values.size(); ++i) {
    if (info.dtype == DType::kF32) {
      std::memcpy(&values[i], src + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      values[i] = info.dtype == DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  }
  return at::tensor(values).view(info.shape);
}

// Every lora_A / lora_B tensor of the file, by the layer it adapts; each layer must exist.
std::map<std::string, std::pair<at::Tensor, at::Tensor>> read_tensors(
    const SafetensorsFile& file, const std::string& weights_path,
    const std::map<std::string, std::shared_ptr<LoraLinearImpl>>& by_name) {
  static const std::regex kName(R"(base_model\.model\.(.+)\.lora_([AB])\.weight)");
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> found;
  for (const TensorInfo& info : file.tensors()) {
    std::smatch m;
    if (!std::regex_match(info.name, m, kName))
      fail(weights_path, "unexpected tensor '", info.name,
           "' (a LoRA adapter holds base_model.model.<layer>.lora_A.weight and .lora_B.weight only)");
    const std::string layer = m[1];
    if (!by_name.count(layer))
      fail(weights_path, "adapts '", layer, "', which this model does not have: the adapter was made for another base model");
    if (info.shape.size() != 2) fail(weights_path, "tensor '", info.name, "' must be a matrix, got shape ", at::IntArrayRef(info.shape));
    if (info.dtype == DType::kI8) fail(weights_path, "tensor '", info.name, "' is int8; adapters are read in F32, F16 or BF16");
    (m[2] == "A" ? found[layer].first : found[layer].second) = read_matrix(file, info);
  }
  if (found.empty()) fail(weights_path, "holds no LoRA tensor");
  return found;
}

}  // namespace

std::string lora_layer_kind(const std::string& layer) {
  const size_t dot = layer.rfind('.');
  return dot == std::string::npos ? layer : layer.substr(dot + 1);
}

double LoraParams::scaling() const { return use_rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank); }

std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> linear_layers(TransformerImpl& model) {
  std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> out;
  for (const auto& item : model.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    if (auto linear = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) out.emplace_back(item.key(), linear);
  return out;
}

bool lora_targets_layer(const std::string& layer, const std::vector<std::string>& targets) {
  for (const std::string& t : targets) {
    if (t == "all-linear") {
      if (lora_layer_kind(layer) != "lm_head") return true;
    } else if (layer == t || (layer.size() > t.size() && layer.compare(layer.size() - t.size(), t.size(), t) == 0 &&
                              layer[layer.size() - t.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

LoraAdapterFile read_lora_adapter(TransformerImpl& model, const std::string& adapter_dir) {
  const std::string config_path = adapter_dir + "/" + kLoraConfigFile, weights_path = adapter_dir + "/" + kLoraWeightsFile;
  for (const std::string& path : {config_path, weights_path})
    if (!file_exists(path)) fail(path, "missing: an adapter folder holds ", kLoraConfigFile, " and ", kLoraWeightsFile);
  LoraAdapterFile adapter;
  adapter.params = read_adapter_config(config_path);
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  std::map<std::string, std::shared_ptr<LoraLinearImpl>> by_name;
  for (const auto& [name, linear] : linear_layers(model)) by_name.emplace(name, linear);
  adapter.layers = read_tensors(file, weights_path, by_name);

  const int64_t rank = adapter.params.rank;
  std::set<std::string> kinds;
  for (const auto& [layer, ab] : adapter.layers) {
    const auto& [a, b] = ab;
    if (!a.defined() || !b.defined())
      fail(weights_path, "layer '", layer, "' has lora_", a.defined() ? "A" : "B", " but not lora_", a.defined() ? "B" : "A");
    const LoraLinearImpl& linear = *by_name.at(layer);
    if (a.size(0) != rank || b.size(1) != rank || a.size(1) != linear.in_features() || b.size(0) != linear.out_features())
      fail(weights_path, "layer '", layer, "': lora_A ", a.sizes(), " and lora_B ", b.sizes(), " do not fit this model's [",
           linear.out_features(), " x ", linear.in_features(), "] layer at rank ", rank,
           ": the adapter was made for another base model");
    kinds.insert(lora_layer_kind(layer));
  }
  adapter.params.target_modules.assign(kinds.begin(), kinds.end());
  const auto meta = file.metadata().find(kLoraFingerprintKey);
  if (meta != file.metadata().end()) {
    adapter.base_fingerprint = meta->second;
    const std::string ours = base_weights_fingerprint(model);
    if (meta->second != ours)
      fail(adapter_dir, "was trained on other base weights (fingerprint ", meta->second, ", this model's is ", ours,
           "): load it on the base model it was made for");
  }
  return adapter;
}

void merge_lora_adapter(TransformerImpl& model, const LoraAdapterFile& adapter) {
  at::NoGradGuard no_grad;
  const double scaling = adapter.params.scaling();
  for (const auto& [name, linear] : linear_layers(model)) {
    const auto it = adapter.layers.find(name);
    if (it == adapter.layers.end()) continue;
    merge_lora_update(*linear, it->second.first, it->second.second, scaling);
  }
}

void merge_lora_update(LoraLinearImpl& linear, const at::Tensor& a, const at::Tensor& b, double scaling) {
  if (linear.weight.scalar_type() == at::kChar)
    fail("lora", "cannot merge an adapter into int8 weights: merge it into the float model (sculpt lora merge), "
                 "then quantize the result (sculpt model quantize)");
  at::NoGradGuard no_grad;
  linear.weight.add_(at::matmul(b, a).to(linear.weight.scalar_type()), scaling);  // [out, r] @ [r, in]
}

Transformer load_adapted_transformer(const std::string& model_dir, const std::string& adapter_dir,
                                     WeightsDType dtype) {
  Transformer model = load_transformer(model_dir, {}, dtype);
  if (!adapter_dir.empty()) merge_lora_adapter(*model, read_lora_adapter(*model, adapter_dir));
  model->eval();
  return model;
}

std::string base_weights_fingerprint(TransformerImpl& model) {
  std::string bytes;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const at::Tensor t = item.value().detach().to(at::kHalf).contiguous();
    bytes += item.key();
    for (int64_t s : t.sizes()) bytes += "," + std::to_string(s);
    bytes.append(static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * 2);
  }
  return fnv1a_hex(bytes);
}

}  // namespace sculpt
