// Hugging Face config.json <-> ModelConfig.
#include "core/model_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace sculpt {
namespace {

using nlohmann::json;

int64_t get_int(const json& j, const char* key, int64_t fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(where, "'", key, "' must be an integer, got ", it->dump());
  return it->get<int64_t>();
}

double get_double(const json& j, const char* key, double fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) fail(where, "'", key, "' must be a number, got ", it->dump());
  return it->get<double>();
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(where, "'", key, "' must be true or false, got ", it->dump());
  return it->get<bool>();
}

std::string get_string(const json& j, const char* key, const std::string& fallback,
                       const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(where, "'", key, "' must be a string, got ", it->dump());
  return it->get<std::string>();
}

// eos_token_id may be a list in HF configs (Llama 3); the first entry is the one we stop on.
int64_t get_token_id(const json& j, const char* key, int64_t fallback, const std::string& where) {
  auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    if (it->empty() || !(*it)[0].is_number_integer())
      fail(where, "'", key, "' must be an integer or a non-empty list of integers");
    return (*it)[0].get<int64_t>();
  }
  return get_int(j, key, fallback, where);
}

}  // namespace

const char* attention_mode_name(AttentionMode mode) {
  switch (mode) {
    case AttentionMode::kCausal: return "causal";
    case AttentionMode::kBidirectional: return "bidirectional";
    case AttentionMode::kBlockCausal: return "block_causal";
  }
  return "?";
}

AttentionMode parse_attention_mode(const std::string& name, const std::string& where) {
  if (name == "causal") return AttentionMode::kCausal;
  if (name == "bidirectional") return AttentionMode::kBidirectional;
  if (name == "block_causal") return AttentionMode::kBlockCausal;
  fail(where, "unknown attention mode '", name, "' (expected causal, bidirectional or block_causal)");
}

const char* logits_alignment_name(LogitsAlignment alignment) {
  return alignment == LogitsAlignment::kShifted ? "shifted" : "unshifted";
}

void ModelConfig::validate_complete(const std::string& where) const {
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) fail(where, "'", key, "' must be positive, got ", v);
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("max_position_embeddings", max_position_embeddings);
  // Generous upper bounds keep a lying config from driving huge allocations.
  if (vocab_size > (int64_t(1) << 24)) fail(where, "'vocab_size' ", vocab_size, " is implausibly large");
  if (hidden_size > (1 << 16) || intermediate_size > (1 << 18))
    fail(where, "hidden_size/intermediate_size implausibly large (", hidden_size, ", ", intermediate_size, ")");
  if (num_hidden_layers > 1024) fail(where, "'num_hidden_layers' ", num_hidden_layers, " is implausibly large");
  if (max_position_embeddings > (int64_t(1) << 22))
    fail(where, "'max_position_embeddings' ", max_position_embeddings, " is implausibly large");
  if (num_key_value_heads < 0) fail(where, "'num_key_value_heads' must be >= 0");
  if (head_dim < 0) fail(where, "'head_dim' must be >= 0");
  if (head_dim == 0 && hidden_size % num_attention_heads != 0)
    fail(where, "hidden_size ", hidden_size, " is not divisible by num_attention_heads ", num_attention_heads);
  if (n_head_dim() % 2 != 0) fail(where, "head dimension ", n_head_dim(), " must be even for rotary embeddings");
  if (num_attention_heads % n_kv_heads() != 0)
    fail(where, "num_attention_heads ", num_attention_heads, " is not a multiple of num_key_value_heads ", n_kv_heads());
  if (!(rms_norm_eps > 0)) fail(where, "'rms_norm_eps' must be positive");
  if (!(rope_theta > 0)) fail(where, "'rope_theta' must be positive");
  auto token = [&](const char* key, int64_t id) {
    if (id < -1 || id >= vocab_size) fail(where, "'", key, "' ", id, " is outside the vocabulary [0, ", vocab_size, ")");
  };
  token("bos_token_id", bos_token_id);
  token("eos_token_id", eos_token_id);
  token("pad_token_id", pad_token_id);
  token("mask_token_id", mask_token_id);
  if (attention == AttentionMode::kBlockCausal && block_size <= 0)
    fail(where, "block_causal attention needs 'sculpt_block_size' > 0");
  if (num_local_experts < 0) fail(where, "'num_local_experts' must be >= 0");
  if (num_local_experts > 0) {
    if (num_experts_per_tok < 1 || num_experts_per_tok > num_local_experts)
      fail(where, "'num_experts_per_tok' ", num_experts_per_tok, " must be in [1, num_local_experts = ", num_local_experts, "]");
    for (int layer : moe_layers)
      if (layer < 0 || layer >= num_hidden_layers)
        fail(where, "'sculpt_moe_layers' names layer ", layer, ", outside [0, ", num_hidden_layers, ")");
  } else if (!moe_layers.empty()) {
    fail(where, "'sculpt_moe_layers' is set but 'num_local_experts' is 0");
  }
  if (torch_dtype != "float32" && torch_dtype != "float16" && torch_dtype != "bfloat16")
    fail(where, "'torch_dtype' must be float32, float16 or bfloat16, got '", torch_dtype, "'");
}

bool ModelConfig::is_sparse_layer(int64_t layer) const {
  if (num_local_experts <= 0) return false;
  if (moe_layers.empty()) return true;
  return std::find(moe_layers.begin(), moe_layers.end(), int(layer)) != moe_layers.end();
}

int64_t ModelConfig::n_sparse_layers() const {
  int64_t n = 0;
  for (int64_t i = 0; i < num_hidden_layers; ++i) n += is_sparse_layer(i);
  return n;
}

namespace {

// Parameters of the model when each sparse layer holds `experts` experts (its router included).
int64_t count_params(const ModelConfig& c, int64_t experts) {
  const int64_t hd = c.n_head_dim();
  const int64_t attn = c.hidden_size * c.num_attention_heads * hd * 2 + c.hidden_size * c.n_kv_heads() * hd * 2 +
                       (c.attention_bias ? (c.num_attention_heads + 2 * c.n_kv_heads()) * hd : 0);
  const int64_t mlp = 3 * c.hidden_size * c.intermediate_size;
  const int64_t moe = experts * mlp + c.num_local_experts * c.hidden_size;
  const int64_t sparse = c.n_sparse_layers();
  const int64_t layers = c.num_hidden_layers * (attn + 2 * c.hidden_size) + (c.num_hidden_layers - sparse) * mlp + sparse * moe;
  const int64_t embed = c.vocab_size * c.hidden_size;
  return embed + (c.tie_word_embeddings ? 0 : embed) + layers + c.hidden_size;
}

}  // namespace

int64_t ModelConfig::n_params() const { return count_params(*this, num_local_experts); }
int64_t ModelConfig::n_active_params() const {
  return count_params(*this, num_local_experts > 0 ? num_experts_per_tok : 0);
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& where) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(where, "not valid JSON");
  if (!j.is_object()) fail(where, "expected a JSON object at the top level");

  ModelConfig c;
  c.model_type = get_string(j, "model_type", "llama", where);
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2" && c.model_type != "mixtral")
    fail(where, "model_type '", c.model_type, "' is not a Llama-family decoder (llama, mistral, mixtral, qwen2)");
  const std::string act = get_string(j, "hidden_act", "silu", where);
  if (act != "silu") fail(where, "hidden_act '", act, "' is not supported (only silu, as in Llama)");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    fail(where, "rope_scaling is not supported; positions would be encoded differently from the checkpoint");
  const bool sliding = get_bool(j, "use_sliding_window", c.model_type == "mistral" || c.model_type == "mixtral", where);
  if (sliding && j.contains("sliding_window") && !j["sliding_window"].is_null())
    fail(where, "sliding-window attention is not supported");

  c.vocab_size = get_int(j, "vocab_size", 0, where);
  c.hidden_size = get_int(j, "hidden_size", 0, where);
  c.intermediate_size = get_int(j, "intermediate_size", 0, where);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", 0, where);
  c.num_attention_heads = get_int(j, "num_attention_heads", 0, where);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", 0, where);
  c.head_dim = get_int(j, "head_dim", 0, where);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", 2048, where);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, where);
  c.rope_theta = get_double(j, "rope_theta", 10000.0, where);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, where);
  c.attention_bias = get_bool(j, "attention_bias", c.model_type == "qwen2", where);
  c.bos_token_id = get_token_id(j, "bos_token_id", -1, where);
  c.eos_token_id = get_token_id(j, "eos_token_id", -1, where);
  c.pad_token_id = get_token_id(j, "pad_token_id", -1, where);
  c.mask_token_id = get_token_id(j, "mask_token_id", -1, where);
  c.attention = parse_attention_mode(get_string(j, "sculpt_attention", "causal", where), where);
  c.block_size = get_int(j, "sculpt_block_size", 0, where);
  const std::string alignment = get_string(j, "sculpt_logits_alignment", "unshifted", where);
  if (alignment != "unshifted" && alignment != "shifted")
    fail(where, "'sculpt_logits_alignment' must be unshifted or shifted, got '", alignment, "'");
  c.logits_alignment = alignment == "shifted" ? LogitsAlignment::kShifted : LogitsAlignment::kUnshifted;
  c.torch_dtype = get_string(j, "torch_dtype", "float32", where);
  if (c.model_type == "mixtral") {  // defaults as transformers' MixtralConfig
    c.num_local_experts = get_int(j, "num_local_experts", 8, where);
    c.num_experts_per_tok = get_int(j, "num_experts_per_tok", 2, where);
    c.router_aux_loss_coef = get_double(j, "router_aux_loss_coef", c.router_aux_loss_coef, where);
    if (c.num_local_experts < 1) fail(where, "a mixtral model needs 'num_local_experts' >= 1");
    if (auto it = j.find("sculpt_moe_layers"); it != j.end() && !it->is_null()) {
      if (!it->is_array()) fail(where, "'sculpt_moe_layers' must be a list of layer indices");
      for (const json& layer : *it) {
        if (!layer.is_number_integer()) fail(where, "'sculpt_moe_layers' must be a list of layer indices");
        c.moe_layers.push_back(layer.get<int>());
      }
    }
  } else if (j.contains("num_local_experts") && get_int(j, "num_local_experts", 0, where) > 0) {
    fail(where, "'num_local_experts' is set but model_type is '", c.model_type, "'; expert models are mixtral");
  }
  c.validate_complete(where);
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  return parse_model_config(read_file(path, /*max_bytes=*/size_t(16) << 20), path);
}

std::string model_config_to_json(const ModelConfig& c) {
  // Written so that transformers' LlamaForCausalLM loads the folder unchanged; sculpt_* keys
  // are ignored there and carry what Llama's config has no word for.
  // Expert models are written as Mixtral (MixtralForCausalLM), whatever model_type they were
  // configured with; only a model whose every layer is sparse loads in transformers.
  json j;
  const bool moe = c.num_local_experts > 0;
  const std::string type = moe ? "mixtral" : c.model_type;
  j["architectures"] = {type == "qwen2" ? "Qwen2ForCausalLM" : type == "mistral" ? "MistralForCausalLM"
                        : type == "mixtral" ? "MixtralForCausalLM" : "LlamaForCausalLM"};
  j["model_type"] = type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.n_kv_heads();
  j["head_dim"] = c.n_head_dim();
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = nullptr;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = false;
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] = c.eos_token_id >= 0 ? json(c.eos_token_id) : json(nullptr);
  j["pad_token_id"] = c.pad_token_id >= 0 ? json(c.pad_token_id) : json(nullptr);
  if (c.mask_token_id >= 0) j["mask_token_id"] = c.mask_token_id;
  j["sculpt_attention"] = attention_mode_name(c.attention);
  if (c.block_size > 0) j["sculpt_block_size"] = c.block_size;
  if (c.attention != AttentionMode::kCausal) j["sculpt_logits_alignment"] = logits_alignment_name(c.logits_alignment);
  if (moe) {
    j["num_local_experts"] = c.num_local_experts;
    j["num_experts_per_tok"] = c.num_experts_per_tok;
    j["router_aux_loss_coef"] = c.router_aux_loss_coef;
    j["sliding_window"] = nullptr;
    if (!c.moe_layers.empty()) j["sculpt_moe_layers"] = c.moe_layers;
  }
  j["torch_dtype"] = c.torch_dtype;
  return j.dump(2) + "\n";
}

void check_masked_diffusion_model(const ModelConfig& c, const std::string& where) {
  if (c.mask_token_id < 0)
    fail(where, "masked diffusion needs a mask token: the model has no mask_token_id (train its tokenizer with a "
         "mask_piece)");
  if (c.attention == AttentionMode::kCausal)
    fail(where, "masked diffusion needs bidirectional or block_causal attention (set model.attention), not causal");
}

}  // namespace sculpt
