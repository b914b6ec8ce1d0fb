// LoRA adapters and their PEFT files; see lora.h.
#include "core/lora.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
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

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
constexpr const char* kTensorPrefix = "base_model.model.";  // PEFT's wrapper around the base model
constexpr const char* kFingerprintKey = "sculpt_base_fingerprint";

// The model's adaptable layers by name, in module order.
std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> linear_layers(TransformerImpl& model) {
  std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> out;
  for (const auto& item : model.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    if (auto linear = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) out.emplace_back(item.key(), linear);
  return out;
}

std::string last_component(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// PEFT's check_target_module_exists for a list of names.
bool matches(const std::string& layer, const std::vector<std::string>& targets) {
  for (const std::string& t : targets) {
    if (t == "all-linear") {
      if (last_component(layer) != "lm_head") return true;
    } else if (layer == t || (layer.size() > t.size() && layer.compare(layer.size() - t.size(), t.size(), t) == 0 &&
                              layer[layer.size() - t.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The distinct last components of the model's layer names, for error messages.
std::string layer_kinds(TransformerImpl& model) {
  std::vector<std::string> kinds;
  for (const auto& [name, linear] : linear_layers(model)) {
    const std::string kind = last_component(name);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  return join(kinds);
}

void set_base_trainable(TransformerImpl& model, bool trainable) {
  for (at::Tensor& p : model.parameters()) p.set_requires_grad(trainable);
}

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

}  // namespace

double LoraParams::scaling() const { return use_rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank); }

LoraAdapter LoraAdapter::attach(TransformerImpl& model, const LoraParams& params, uint64_t seed) {
  if (params.rank < 1) fail("lora.rank", params.rank, " must be at least 1");
  if (params.target_modules.empty()) fail("lora.target_modules", "is empty; name the layers to adapt");
  LoraAdapter adapter;
  adapter.params_ = params;
  adapter.model_ = &model;
  for (const auto& [name, linear] : linear_layers(model)) {
    if (!matches(name, params.target_modules)) continue;
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
  const std::string config_path = adapter_dir + "/" + kConfigFile, weights_path = adapter_dir + "/" + kWeightsFile;
  if (!file_exists(config_path))
    fail(config_path, "missing: an adapter folder holds ", kConfigFile, " and ", kWeightsFile);
  if (!file_exists(weights_path))
    fail(weights_path, "missing: an adapter folder holds ", kConfigFile, " and ", kWeightsFile);
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

  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  const std::map<std::string, std::shared_ptr<LoraLinearImpl>> by_name = [&] {
    std::map<std::string, std::shared_ptr<LoraLinearImpl>> m;
    for (const auto& [name, linear] : linear_layers(model)) m.emplace(name, linear);
    return m;
  }();
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> found;  // layer -> (A, B)
  for (const TensorInfo& info : file.tensors()) {
    static const std::regex kName(R"(base_model\.model\.(.+)\.lora_([AB])\.weight)");
    std::smatch m;
    if (!std::regex_match(info.name, m, kName))
      fail(weights_path, "unexpected tensor '", info.name, "' (a LoRA adapter holds ", kTensorPrefix,
           "<layer>.lora_A.weight and .lora_B.weight only)");
    const std::string layer = m[1];
    auto it = by_name.find(layer);
    if (it == by_name.end())
      fail(weights_path, "adapts '", layer, "', which this model does not have: the adapter was made for another base model");
    if (info.shape.size() != 2) fail(weights_path, "tensor '", info.name, "' must be a matrix, got shape ", at::IntArrayRef(info.shape));
    std::vector<float> values(size_t(info.numel()));
    const uint8_t* src = file.data(info);
    for (size_t i = 0; i < values.size(); ++i) {  // memcpy: the data may be misaligned
      if (info.dtype == DType::kF32) std::memcpy(&values[i], src + 4 * i, 4);
      else {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        values[i] = info.dtype == DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
    at::Tensor t = at::tensor(values).view(info.shape);
    (m[2] == "A" ? found[layer].first : found[layer].second) = t;
  }
  if (found.empty()) fail(weights_path, "holds no LoRA tensor");

  LoraAdapter adapter;
  adapter.model_ = &model;
  std::set<std::string> kinds;
  for (const auto& [layer, linear] : linear_layers(model)) {  // in the model's order
    const auto it = found.find(layer);
    if (it == found.end()) continue;
    const auto& ab = it->second;
    if (!ab.first.defined() || !ab.second.defined())
      fail(weights_path, "layer '", layer, "' has lora_", ab.first.defined() ? "A" : "B", " but not lora_",
           ab.first.defined() ? "B" : "A");
    if (ab.first.size(0) != params.rank || ab.second.size(1) != params.rank || ab.first.size(1) != linear->in_features() ||
        ab.second.size(0) != linear->out_features())
      fail(weights_path, "layer '", layer, "': lora_A ", ab.first.sizes(), " and lora_B ", ab.second.sizes(),
           " do not fit this model's [", linear->out_features(), " x ", linear->in_features(), "] layer at rank ",
           params.rank, ": the adapter was made for another base model");
    if (linear->has_adapter()) fail("lora", layer, " already carries an adapter; merge or detach it first");
    adapter.layers_.push_back({layer, linear});
    kinds.insert(last_component(layer));
  }
  const auto meta = file.metadata().find(kFingerprintKey);
  adapter.base_fingerprint_ = base_weights_fingerprint(model);
  if (meta != file.metadata().end() && meta->second != adapter.base_fingerprint_)
    fail(adapter_dir, "was trained on other base weights (fingerprint ", meta->second, ", this model's is ",
         adapter.base_fingerprint_, "): load it on the base model it was made for");
  params.target_modules.assign(kinds.begin(), kinds.end());
  adapter.params_ = params;
  for (const Layer& layer : adapter.layers_) {
    const auto& ab = found.at(layer.name);
    layer.linear->attach_adapter({ab.first.set_requires_grad(true), ab.second.set_requires_grad(true), params.scaling(),
                                  params.dropout});
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
      views.push_back({kTensorPrefix + layer.name + suffix, DType::kF32, keep_alive.back().sizes().vec(),
                       keep_alive.back().data_ptr()});
    }
  }
  write_safetensors(adapter_dir + "/" + kWeightsFile, views, {{"format", "pt"}, {kFingerprintKey, base_fingerprint_}});
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
  write_file_atomic(adapter_dir + "/" + kConfigFile, config.dump(2) + "\n");
}

void LoraAdapter::merge() {
  at::NoGradGuard no_grad;
  for (const Layer& layer : layers_) {
    const LoraDelta& d = layer.linear->adapter();
    layer.linear->weight.add_(at::matmul(d.b, d.a), d.scaling);  // [out, r] @ [r, in]
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

Transformer load_adapted_transformer(const std::string& model_dir, const std::string& adapter_dir) {
  Transformer model = load_transformer(model_dir);
  if (!adapter_dir.empty()) LoraAdapter::load(*model, adapter_dir).merge();
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
