// The transformer's architecture, read from and written to Hugging Face config.json: the
// Llama-layout families (Llama 2/3, Mistral, Mixtral, Qwen2, Qwen3) and the diffusion models
// built on them (Dream, LLaDA, SDAR, Fast-dLLM v2), each with its published keys, so their
// checkpoints load and ours load elsewhere.
//
//   ModelConfig cfg = load_model_config("models/drafter/config.json");
//   cfg.validate_complete();
//   std::string json = model_config_to_json(cfg);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

// Which keys a query may attend to.
enum class AttentionMode {
  kCausal,         // j <= i: the autoregressive drafter
  kBidirectional,  // all positions (LLaDA, Dream)
  kBlockCausal,    // block(j) <= block(i), block(i) = i / block_size (BD3-LM, SDAR, Fast-dLLM v2)
};
const char* attention_mode_name(AttentionMode mode);
AttentionMode parse_attention_mode(const std::string& name, const std::string& where);

// Which token the logits at position i predict, for a masked-diffusion refiner.
enum class LogitsAlignment {
  kUnshifted,  // position i predicts token i (LLaDA, MDLM: trained as diffusion models)
  kShifted,    // position i predicts token i + 1 (DiffuLLaMA, Dream: adapted from AR models)
};
const char* logits_alignment_name(LogitsAlignment alignment);

// What a config.json model_type means: the layout of its checkpoint and, for the diffusion
// families, how they refine. Each family's values follow its published modeling code.
struct ModelFamily {
  const char* model_type;    // config.json's model_type
  const char* name;          // for people: "Qwen3", "Dream", ...
  const char* architecture;  // config.json's architectures[0] when Sculpt writes the folder
  bool qk_norm;              // per-head RMSNorm on q and k before RoPE (q_norm, k_norm: Qwen3)
  bool llada_layout;         // LLaDA's config keys and tensor names (model.transformer.blocks.N...)
  bool head_dim_key;         // reads config.json's head_dim (else hidden_size / num_attention_heads)
  bool qkv_bias;             // default of attention_bias: q/k/v projections carry biases (Qwen2)
  AttentionMode attention;   // the family's attention pattern (sculpt_attention overrides it)
  LogitsAlignment alignment;  // how a diffusion family's logits line up (sculpt_logits_alignment overrides it)
  int64_t block_size;        // block-causal families: the block size their generation code uses
  const char* block_size_key;  // the family's config.json key for it (SDAR's block_size), or nullptr
  // Diffusion families: the tokenizer piece their generation code masks with, for configs that
  // carry no mask_token_id (Fast-dLLM v2's "|<MASK>|", SDAR's "<|MASK|>"), or nullptr.
  const char* mask_piece;
};

// The family of model_type; throws Error(where: ...) naming it and listing the supported ones.
const ModelFamily& model_family(const std::string& model_type, const std::string& where);
// "llama, mistral, ...": the model_types that load.
std::string supported_model_types();

// Rotary frequency schedules beyond RoPE's own (config.json rope_scaling).
enum class RopeScalingType {
  kNone,    // inv_freq[i] = theta^(-2i / head_dim)
  kLlama3,  // Llama 3.1's: low frequencies divided by factor, a smooth ramp between (rope_type llama3)
};

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;                       // low frequencies are divided by it
  double low_freq_factor = 1.0;              // wavelengths above original / low_freq_factor are scaled
  double high_freq_factor = 4.0;             // wavelengths below original / high_freq_factor are kept
  int64_t original_max_position_embeddings = 0;  // the context the model was pre-trained at
};

struct ModelConfig {
  std::string model_type = "llama";  // HF model_type; model_family() lists the supported ones
  int64_t vocab_size = 0;            // n_vocab
  int64_t hidden_size = 0;           // model width
  int64_t intermediate_size = 0;     // SwiGLU inner width
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;   // 0 = num_attention_heads (no grouped-query attention)
  int64_t head_dim = 0;              // 0 = hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;  // context length in tokens
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;       // rotary base
  RopeScaling rope_scaling;          // rope_scaling in config.json; none by default
  bool tie_word_embeddings = false;  // lm_head shares model.embed_tokens.weight
  bool attention_bias = false;       // q/k/v projections carry biases (Qwen2)
  int64_t bos_token_id = 1;          // -1 = none
  int64_t eos_token_id = 2;          // -1 = none
  int64_t pad_token_id = -1;         // -1 = none
  int64_t mask_token_id = -1;        // the refiner's [MASK]; -1 = none (a refiner takes its tokenizer's)
  AttentionMode attention = AttentionMode::kCausal;  // sculpt_attention in config.json
  int64_t block_size = 0;            // block-causal block length in tokens (sculpt_block_size; SDAR's
                                     // block_size, Fast-dLLM v2's bd_size)
  // How a refiner's logits line up with its tokens (sculpt_logits_alignment); causal drafters
  // always predict the next token and ignore it.
  LogitsAlignment logits_alignment = LogitsAlignment::kUnshifted;
  std::string torch_dtype = "float32";  // dtype of the stored weights
  // 0: the matrices are floats of torch_dtype. kInt8GroupSize (32): every matrix is int8 with a
  // float32 scale per group of that many inputs (core/int8_weights.h; config.json's
  // quantization_config, which `sculpt model quantize` writes). Not a YAML field: a checkpoint's.
  int64_t int8_group_size = 0;
  // Mixture of experts (Mixtral): sparse layers replace the SwiGLU MLP by num_local_experts
  // SwiGLU experts of intermediate_size each, num_experts_per_tok of them per token.
  int64_t num_local_experts = 0;      // 0 = a dense model
  int64_t num_experts_per_tok = 2;    // top-k
  std::vector<int> moe_layers;        // the sparse layers (sculpt_moe_layers); empty = all, as Mixtral
  double router_aux_loss_coef = 0.01;  // weight of the load-balancing loss in training (Switch's 1e-2)

  const ModelFamily& family() const { return model_family(model_type, "model_type"); }
  int64_t n_kv_heads() const { return num_key_value_heads > 0 ? num_key_value_heads : num_attention_heads; }
  int64_t n_head_dim() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
  bool is_sparse_layer(int64_t layer) const;
  int64_t n_sparse_layers() const;
  // Throws Error(where: ...) for values that cannot describe a working model. Not named
  // validate(): a YAML `model:` section may leave vocab_size 0 (taken from the tokenizer), so
  // the whole model is checked when it is built, not when its YAML section is read.
  void validate_complete(const std::string& where = "model config") const;

  // YAML fields (same names as config.json), for `model:` sections of configs.
  template <class V>
  void visit(V& v) {
    v.field("model_type", model_type, "HF model_type: llama, mistral, mixtral, qwen2, qwen3, Dream, llada, sdar or Fast_dLLM_Qwen");
    v.field("vocab_size", vocab_size, "vocabulary size; 0 = from the tokenizer", Range::at_least(0));
    v.field("hidden_size", hidden_size, "model width; required (0 = unset)", Range{0, 1 << 16});
    v.field("intermediate_size", intermediate_size, "SwiGLU inner width; required (0 = unset)", Range{0, 1 << 18});
    v.field("num_hidden_layers", num_hidden_layers, "decoder layers; required (0 = unset)", Range{0, 1024});
    v.field("num_attention_heads", num_attention_heads, "query heads; required (0 = unset)", Range{0, 1024});
    v.field("num_key_value_heads", num_key_value_heads, "key/value heads; 0 = num_attention_heads", Range{0, 1024});
    v.field("head_dim", head_dim, "per-head width; 0 = hidden_size / num_attention_heads", Range{0, 4096});
    v.field("max_position_embeddings", max_position_embeddings, "context length in tokens", Range{1, 1 << 22});
    v.field("rms_norm_eps", rms_norm_eps, "RMSNorm epsilon", Range{1e-12, 1.0});
    v.field("rope_theta", rope_theta, "rotary base", Range{1.0, 1e9});
    v.field("tie_word_embeddings", tie_word_embeddings, "lm_head shares the embedding matrix");
    v.field("attention_bias", attention_bias, "q/k/v projections carry biases (Qwen2)");
    v.field("attention", attention, "attention pattern",
            Choices<AttentionMode>{{"causal", AttentionMode::kCausal},
                                   {"bidirectional", AttentionMode::kBidirectional},
                                   {"block_causal", AttentionMode::kBlockCausal}});
    v.field("block_size", block_size, "block-causal block length in tokens", Range{0, 1 << 20});
    v.field("logits_alignment", logits_alignment,
            "refiners: position i predicts token i (unshifted) or token i + 1 (shifted)",
            Choices<LogitsAlignment>{{"unshifted", LogitsAlignment::kUnshifted},
                                     {"shifted", LogitsAlignment::kShifted}});
    v.field("num_local_experts", num_local_experts, "mixture of experts: experts per sparse layer; 0 = dense",
            Range{0, 1024});
    v.field("num_experts_per_tok", num_experts_per_tok, "mixture of experts: experts per token (top-k)", Range{1, 1024});
    v.field("moe_layers", moe_layers, "mixture of experts: which layers are sparse; empty = all (Mixtral)",
            Range{0, 1023});
    v.field("router_aux_loss_coef", router_aux_loss_coef, "weight of the load-balancing loss in training",
            Range{0.0, 10.0});
  }
  // Parameter count implied by the shapes (embedding and head counted once when tied).
  int64_t n_params() const;
  // Parameters one token's forward pass uses: num_experts_per_tok experts per sparse layer.
  int64_t n_active_params() const;
};

// Parses config.json text with the keys its family publishes (LLaDA's own: d_model, n_heads,
// ...). Informational keys are ignored (HF configs carry many: auto_map, architectures,
// torch_dtype, transformers_version), but keys that change the computation in ways we do not
// implement (a rope_scaling other than llama3, an activation other than silu, a sliding window)
// are refused with an error naming `where` and the key; so is a missing required key.
ModelConfig parse_model_config(const std::string& json_text, const std::string& where);
ModelConfig load_model_config(const std::string& path);
std::string model_config_to_json(const ModelConfig& config);

// Throws Error (naming `where`) unless `config` with mask token `mask_id` (-1 = none) describes a
// masked-diffusion model: a mask token and bidirectional or block-causal attention (what the
// refiner runs and the objective trains).
void check_masked_diffusion_model(const ModelConfig& config, int64_t mask_id, const std::string& where);

}  // namespace sculpt
