// Hugging Face config.json <-> ModelConfig, and the families that load.
#include "core/model_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/int8_weights.h"

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

namespace {

constexpr AttentionMode kCausal = AttentionMode::kCausal;
constexpr LogitsAlignment kUnshifted = LogitsAlignment::kUnshifted;

// One row per model_type, each read off the family's published code:
//   llama, mistral, mixtral, qwen2, qwen3: transformers' modeling_<type>.py (Qwen2 and Qwen3 use
//     head_dim when given; Qwen2 always has q/k/v biases; Qwen3 has q_norm/k_norm on head_dim);
//   Dream: modeling_dream.py (Qwen2's layout with heads of hidden_size / num_attention_heads,
//     attention not causal) and its sampler, logits = cat([logits[:, :1], logits[:, :-1]]): the
//     token at i is predicted at i - 1;
//   llada: modeling_llada.py (LLaDALlamaBlock, a bidirectional attention bias) and generate.py
//     (the logits at i predict the token at i);
//   sdar: modeling_sdar.py (Qwen3's layout) and generate.py (a block-causal mask of block_length
//     4, the logits at i predict the token at i);
//   Fast_dLLM_Qwen: Fast-dLLM v2's modeling.py (Qwen2's layout, eval_block_diff_mask with
//     bd_size 32, and its sampler's token shift, as Dream's).
// The mask pieces are the tokens each family's tokenizer adds for its sampler (Dream's and
// LLaDA's configs also give their ids; SDAR's generate.py takes tokenizer.mask_token, Fast-dLLM
// v2's sampler the id of "|<MASK>|").
const ModelFamily kFamilies[] = {
    // model_type, name, architecture, qk_norm, llada_layout, head_dim_key, qkv_bias, attention, alignment,
    // block_size, block_size_key, mask_piece
    {"llama", "Llama", "LlamaForCausalLM", false, false, true, false, kCausal, kUnshifted, 0, nullptr, nullptr},
    {"mistral", "Mistral", "MistralForCausalLM", false, false, true, false, kCausal, kUnshifted, 0, nullptr, nullptr},
    {"mixtral", "Mixtral", "MixtralForCausalLM", false, false, true, false, kCausal, kUnshifted, 0, nullptr, nullptr},
    {"qwen2", "Qwen2", "Qwen2ForCausalLM", false, false, true, true, kCausal, kUnshifted, 0, nullptr, nullptr},
    {"qwen3", "Qwen3", "Qwen3ForCausalLM", true, false, true, false, kCausal, kUnshifted, 0, nullptr, nullptr},
    {"Dream", "Dream", "DreamModel", false, false, false, true, AttentionMode::kBidirectional,
     LogitsAlignment::kShifted, 0, nullptr, "<|mask|>"},
    {"llada", "LLaDA", "LLaDAModelLM", false, true, false, false, AttentionMode::kBidirectional, kUnshifted, 0,
     nullptr, "<|mdm_mask|>"},
    {"sdar", "SDAR", "SDARForCausalLM", true, false, true, false, AttentionMode::kBlockCausal, kUnshifted, 4,
     "block_size", "<|MASK|>"},
    {"Fast_dLLM_Qwen", "Fast-dLLM v2", "Fast_dLLM_QwenForCausalLM", false, false, true, true,
     AttentionMode::kBlockCausal, LogitsAlignment::kShifted, 32, "bd_size", "|<MASK>|"},
};

}  // namespace

std::string supported_model_types() {
  std::string out;
  for (const ModelFamily& f : kFamilies) out += std::string(out.empty() ? "" : ", ") + f.model_type;
  return out;
}

const ModelFamily& model_family(const std::string& model_type, const std::string& where) {
  for (const ModelFamily& f : kFamilies)
    if (model_type == f.model_type) return f;
  fail(where, "model_type '", model_type, "' is not supported (supported: ", supported_model_types(), ")");
}

void ModelConfig::validate_complete(const std::string& where) const {
  const ModelFamily& f = model_family(model_type, where);
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
  if (!f.head_dim_key && head_dim > 0 && head_dim != hidden_size / num_attention_heads)
    fail(where, f.name, "'s heads are hidden_size / num_attention_heads wide: 'head_dim' ", head_dim, " is not supported");
  if (f.qk_norm && attention_bias)
    fail(where, "'attention_bias' true is not supported for ", f.name, " (its o_proj would carry a bias too)");
  if (num_local_experts > 0 && (f.qk_norm || f.llada_layout))
    fail(where, "mixture of experts is supported in the Mixtral layout only, not with model_type '", model_type, "'");
  if (rope_scaling.type == RopeScalingType::kLlama3) {
    const RopeScaling& r = rope_scaling;
    if (!(r.factor > 0) || !(r.low_freq_factor > 0) || !(r.high_freq_factor > r.low_freq_factor) ||
        r.original_max_position_embeddings <= 0)
      fail(where, "rope_scaling llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
           "original_max_position_embeddings > 0");
  }
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
  if (int8_group_size != 0 && int8_group_size != kInt8GroupSize)
    fail(where, "int8 weights need quantization_config.group_size ", kInt8GroupSize, ", got ", int8_group_size);
  if (int8_group_size != 0 && num_local_experts > 0)
    fail(where, "int8 weights are read for dense models only, and this one is a mixture of experts");
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
  const int64_t norms = 2 * c.hidden_size + (c.family().qk_norm ? 2 * hd : 0);
  const int64_t sparse = c.n_sparse_layers();
  const int64_t layers = c.num_hidden_layers * (attn + norms) + (c.num_hidden_layers - sparse) * mlp + sparse * moe;
  const int64_t embed = c.vocab_size * c.hidden_size;
  return embed + (c.tie_word_embeddings ? 0 : embed) + layers + c.hidden_size;
}

}  // namespace

int64_t ModelConfig::n_params() const { return count_params(*this, num_local_experts); }
int64_t ModelConfig::n_active_params() const {
  return count_params(*this, num_local_experts > 0 ? num_experts_per_tok : 0);
}

namespace {

// Refuses a key whose value would make the model compute something Sculpt does not: its value,
// or `fallback` (the family's default) when it is absent or null, must equal `supported` (JSON:
// true, "silu", 1.0, ...).
void require_value(const json& j, const char* key, const json& supported, const json& fallback, const std::string& why,
                   const std::string& where) {
  auto it = j.find(key);
  const bool absent = it == j.end() || it->is_null();
  const json& value = absent ? fallback : *it;
  if (value != supported)
    fail(where, "'", key, "' ", value.dump(), absent ? " (its default when absent)" : "", " is not supported (", why, ")");
}

// quantization_config: absent (float weights) or Sculpt's own int8 (core/int8_weights.h), whose
// group size it returns; the methods of other tools (GPTQ, AWQ, bitsandbytes, ...) store tensors
// Sculpt does not read, so they are refused here by name rather than later by tensor.
int64_t parse_quantization(const json& j, const std::string& where) {
  auto it = j.find("quantization_config");
  if (it == j.end() || it->is_null()) return 0;
  if (!it->is_object()) fail(where, "'quantization_config' must be an object");
  const json method_json = it->value("quant_method", json());
  const std::string method = method_json.is_string() ? method_json.get<std::string>() : method_json.dump();
  if (method != kInt8QuantMethod)
    fail(where, "quantization_config.quant_method '", method, "' is not supported (Sculpt reads its own '",
         kInt8QuantMethod, "', written by `sculpt model quantize`)");
  const json group = it->value("group_size", json());
  if (!group.is_number_integer()) fail(where, "quantization_config.group_size must be an integer");
  return group.get<int64_t>();
}

// Keys a config cannot do without; absent means a truncated or foreign file, not a default.
void require_keys(const json& j, std::initializer_list<const char*> keys, const std::string& where) {
  for (const char* key : keys)
    if (!j.contains(key) || j[key].is_null()) fail(where, "required key '", key, "' is missing");
}

// rope_scaling (or transformers 5's rope_parameters, which also carries rope_theta): none, or
// Llama 3.1's schedule (transformers' _compute_llama3_parameters); any other type is refused.
RopeScaling read_rope_scaling(const json& j, double* rope_theta, const std::string& where) {
  const char* key = "rope_scaling";
  if (!j.contains(key) || j[key].is_null()) key = "rope_parameters";
  if (!j.contains(key) || j[key].is_null()) return {};
  const json& r = j[key];
  if (!r.is_object()) fail(where, "'", key, "' must be an object, got ", r.dump());
  if (r.contains("rope_theta")) *rope_theta = get_double(r, "rope_theta", *rope_theta, where);
  const std::string type = get_string(r, "rope_type", get_string(r, "type", "default", where), where);
  if (type == "default") return {};
  if (type != "llama3")
    fail(where, "'", key, "' of type '", type, "' is not supported (only llama3): positions would be encoded "
         "differently from the checkpoint");
  for (const char* k : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
    if (!r.contains(k) || r[k].is_null()) fail(where, "'", key, "' of type llama3 needs '", k, "'");
  RopeScaling s;
  s.type = RopeScalingType::kLlama3;
  s.factor = get_double(r, "factor", s.factor, where);
  s.low_freq_factor = get_double(r, "low_freq_factor", s.low_freq_factor, where);
  s.high_freq_factor = get_double(r, "high_freq_factor", s.high_freq_factor, where);
  s.original_max_position_embeddings = get_int(r, "original_max_position_embeddings", 0, where);
  return s;
}

// The Hugging Face keys of the Llama-layout families (LlamaConfig, Qwen2Config, Qwen3Config and the
// diffusion models' copies of them).
void read_hf_keys(const json& j, const ModelFamily& f, ModelConfig& c, const std::string& where) {
  const std::string act = get_string(j, "hidden_act", "silu", where);
  if (act != "silu") fail(where, "hidden_act '", act, "' is not supported (only silu, as in Llama)");
  c.rope_scaling = read_rope_scaling(j, &c.rope_theta, where);
  const bool sliding = get_bool(j, "use_sliding_window", c.model_type == "mistral" || c.model_type == "mixtral", where);
  if (sliding && j.contains("sliding_window") && !j["sliding_window"].is_null())
    fail(where, "sliding-window attention is not supported");
  if (auto it = j.find("layer_types"); it != j.end() && it->is_array())
    for (const json& type : *it)
      if (type != "full_attention") fail(where, "'layer_types' names ", type.dump(), ": only full_attention is supported");
  require_value(j, "mlp_bias", false, false, "MLP biases", where);
  require_value(j, "partial_rotary_factor", 1.0, 1.0, "rotary embeddings on part of each head", where);
  require_value(j, "use_mrope", false, false, "multimodal rotary embeddings", where);

  c.vocab_size = get_int(j, "vocab_size", 0, where);
  c.hidden_size = get_int(j, "hidden_size", 0, where);
  c.intermediate_size = get_int(j, "intermediate_size", 0, where);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", 0, where);
  c.num_attention_heads = get_int(j, "num_attention_heads", 0, where);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", 0, where);
  const int64_t head_dim = get_int(j, "head_dim", 0, where);
  if (f.head_dim_key) c.head_dim = head_dim;
  else if (head_dim > 0 && c.num_attention_heads > 0 && head_dim != c.hidden_size / c.num_attention_heads)
    fail(where, "'head_dim' ", head_dim, " is not supported for ", f.name, ", whose heads are hidden_size / "
         "num_attention_heads = ", c.hidden_size / c.num_attention_heads, " wide");
  c.max_position_embeddings = get_int(j, "max_position_embeddings", 2048, where);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, where);
  c.rope_theta = get_double(j, "rope_theta", c.rope_theta, where);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, where);
  c.attention_bias = get_bool(j, "attention_bias", f.qkv_bias, where);
  if (f.block_size_key) c.block_size = get_int(j, f.block_size_key, c.block_size, where);
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
  require_keys(j, {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}, where);
}

// LLaDA's own keys (configuration_llada.py's ModelConfig; its defaults apply to absent keys).
// Only what LLaDA-8B's LLaDALlamaBlock computes is supported: RMSNorm, SiLU gate with up_proj,
// RoPE, no biases but optional q/k/v ones, no q/k norm.
void read_llada_keys(const json& j, ModelConfig& c, const std::string& where) {
  require_value(j, "block_type", "llama", "sequential", "only LLaDA's llama blocks", where);
  require_value(j, "activation_type", "silu", "swiglu", "LLaDA's llama blocks gate with silu", where);
  require_value(j, "layer_norm_type", "rms", "default", "only RMSNorm", where);
  require_value(j, "rope", true, false, "only rotary positions", where);
  require_value(j, "alibi", false, false, "ALiBi positions", where);
  require_value(j, "attention_layer_norm", false, false, "layer norm on queries and keys", where);
  require_value(j, "include_bias", false, false, "biases on every linear layer", where);
  require_value(j, "bias_for_layer_norm", false, false, "layer-norm biases", where);
  require_value(j, "layer_norm_with_affine", true, true, "layer norms without weights", where);
  require_value(j, "scale_logits", false, false, "logits scaled by 1 / sqrt(d_model)", where);
  require_value(j, "input_emb_norm", false, false, "embeddings scaled by sqrt(d_model)", where);
  require_value(j, "block_group_size", 1, 1, "grouped blocks are named differently", where);
  require_value(j, "clip_qkv", nullptr, nullptr, "clipped q/k/v", where);
  require_keys(j, {"d_model", "n_heads", "n_layers", "vocab_size"}, where);

  c.vocab_size = get_int(j, "vocab_size", 0, where);
  c.hidden_size = get_int(j, "d_model", 0, where);
  c.num_attention_heads = get_int(j, "n_heads", 0, where);
  c.num_hidden_layers = get_int(j, "n_layers", 0, where);
  // effective_n_kv_heads: n_kv_heads, else 1 under multi-query attention, else n_heads.
  c.num_key_value_heads = get_int(j, "n_kv_heads", 0, where);
  if (get_bool(j, "multi_query_attention", false, where)) {
    if (c.num_key_value_heads > 1) fail(where, "'multi_query_attention' is true but 'n_kv_heads' is ", c.num_key_value_heads);
    c.num_key_value_heads = 1;
  }
  c.intermediate_size = get_int(j, "mlp_hidden_size", get_int(j, "mlp_ratio", 4, where) * c.hidden_size, where);
  c.max_position_embeddings = get_int(j, "max_sequence_length", 1024, where);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-5, where);
  c.rope_theta = get_double(j, "rope_theta", 10000.0, where);
  c.tie_word_embeddings = get_bool(j, "weight_tying", true, where);
  c.attention_bias = get_bool(j, "include_qkv_bias", false, where);
  const int64_t embedding_size = get_int(j, "embedding_size", 50304, where);
  if (embedding_size != c.vocab_size)
    fail(where, "'embedding_size' ", embedding_size, " differs from 'vocab_size' ", c.vocab_size,
         ": padded embedding tables are not supported (LLaDA's default embedding_size is 50304)");
}

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& where) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(where, "not valid JSON");
  if (!j.is_object()) fail(where, "expected a JSON object at the top level");

  ModelConfig c;
  c.model_type = get_string(j, "model_type", "llama", where);
  const ModelFamily& f = model_family(c.model_type, where);
  c.attention = f.attention;
  c.logits_alignment = f.alignment;
  c.block_size = f.block_size;
  if (f.llada_layout) read_llada_keys(j, c, where);
  else read_hf_keys(j, f, c, where);
  c.bos_token_id = get_token_id(j, "bos_token_id", -1, where);
  c.eos_token_id = get_token_id(j, "eos_token_id", -1, where);
  c.pad_token_id = get_token_id(j, "pad_token_id", -1, where);
  c.mask_token_id = get_token_id(j, "mask_token_id", -1, where);
  // Sculpt's own keys override the family's attention, block size and alignment.
  if (j.contains("sculpt_attention"))
    c.attention = parse_attention_mode(get_string(j, "sculpt_attention", "causal", where), where);
  c.block_size = get_int(j, "sculpt_block_size", c.block_size, where);
  if (j.contains("sculpt_logits_alignment")) {
    const std::string alignment = get_string(j, "sculpt_logits_alignment", "unshifted", where);
    if (alignment != "unshifted" && alignment != "shifted")
      fail(where, "'sculpt_logits_alignment' must be unshifted or shifted, got '", alignment, "'");
    c.logits_alignment = alignment == "shifted" ? LogitsAlignment::kShifted : LogitsAlignment::kUnshifted;
  }
  c.torch_dtype = get_string(j, "torch_dtype", "float32", where);
  c.int8_group_size = parse_quantization(j, where);
  c.validate_complete(where);
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  return parse_model_config(read_file(path, /*max_bytes=*/size_t(16) << 20), path);
}

namespace {

json token_id_json(int64_t id) { return id >= 0 ? json(id) : json(nullptr); }

// The keys of the Llama-layout families, written so that transformers (or the family's own
// modeling code) loads the folder unchanged. Expert models are written as Mixtral
// (MixtralForCausalLM), whatever model_type they were configured with; only a model whose every
// layer is sparse loads in transformers.
json hf_keys(const ModelConfig& c, const ModelFamily& f) {
  json j;
  const bool moe = c.num_local_experts > 0;
  const std::string type = moe ? "mixtral" : c.model_type;
  j["architectures"] = {moe ? "MixtralForCausalLM" : f.architecture};
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
  if (c.rope_scaling.type == RopeScalingType::kLlama3)
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = false;
  if (f.block_size_key && c.block_size > 0) j[f.block_size_key] = c.block_size;
  if (moe) {
    j["num_local_experts"] = c.num_local_experts;
    j["num_experts_per_tok"] = c.num_experts_per_tok;
    j["router_aux_loss_coef"] = c.router_aux_loss_coef;
    j["sliding_window"] = nullptr;
    if (!c.moe_layers.empty()) j["sculpt_moe_layers"] = c.moe_layers;
  }
  return j;
}

// LLaDA's keys (configuration_llada.py), spelling out every value that differs from its defaults.
json llada_keys(const ModelConfig& c, const ModelFamily& f) {
  return {{"architectures", {f.architecture}},
          {"model_type", f.model_type},
          {"d_model", c.hidden_size},
          {"n_heads", c.num_attention_heads},
          {"n_kv_heads", c.n_kv_heads()},
          {"n_layers", c.num_hidden_layers},
          {"mlp_hidden_size", c.intermediate_size},
          {"vocab_size", c.vocab_size},
          {"embedding_size", c.vocab_size},
          {"max_sequence_length", c.max_position_embeddings},
          {"rms_norm_eps", c.rms_norm_eps},
          {"rope_theta", c.rope_theta},
          {"weight_tying", c.tie_word_embeddings},
          {"include_qkv_bias", c.attention_bias},
          {"include_bias", false},
          {"activation_type", "silu"},
          {"block_type", "llama"},
          {"layer_norm_type", "rms"},
          {"rope", true},
          {"alibi", false}};
}

}  // namespace

std::string model_config_to_json(const ModelConfig& c) {
  // sculpt_* keys are ignored by transformers and carry what the family's config has no word for.
  const ModelFamily& f = c.family();
  json j = f.llada_layout ? llada_keys(c, f) : hf_keys(c, f);
  j["bos_token_id"] = token_id_json(c.bos_token_id);
  j["eos_token_id"] = token_id_json(c.eos_token_id);
  j["pad_token_id"] = token_id_json(c.pad_token_id);
  if (c.mask_token_id >= 0) j["mask_token_id"] = c.mask_token_id;
  j["sculpt_attention"] = attention_mode_name(c.attention);
  if (c.block_size > 0) j["sculpt_block_size"] = c.block_size;
  if (c.attention != AttentionMode::kCausal) j["sculpt_logits_alignment"] = logits_alignment_name(c.logits_alignment);
  j["torch_dtype"] = c.torch_dtype;
  if (c.int8_group_size > 0)
    j["quantization_config"] = {{"quant_method", kInt8QuantMethod}, {"bits", 8}, {"group_size", c.int8_group_size},
                                {"symmetric", true}};
  return j.dump(2) + "\n";
}

void check_masked_diffusion_model(const ModelConfig& c, int64_t mask_id, const std::string& where) {
  if (mask_id < 0)
    fail(where, "masked diffusion needs a mask token: the model has no mask_token_id and its tokenizer no mask piece "
         "(train the tokenizer with a mask_piece)");
  if (c.attention == AttentionMode::kCausal)
    fail(where, "masked diffusion needs bidirectional or block_causal attention (set model.attention), not causal");
}

}  // namespace sculpt
