// The drafter's models as FastDecoder weights; see fast_decoder_weights.h.
#include "core/fast_decoder_weights.h"

#include <map>

#include "core/error.h"
#include "core/rope.h"

namespace sculpt {

std::optional<FastDecoderModel> fast_decoder_model(TransformerImpl& model, std::string* why_not) {
  auto refuse = [&](const std::string& why) -> std::optional<FastDecoderModel> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  const ModelConfig& c = model.config();
  if (c.attention != AttentionMode::kCausal) return refuse(str_cat(attention_mode_name(c.attention), " attention"));
  if (c.num_local_experts > 0) return refuse("a mixture of experts");
  if (model.is_training()) return refuse("the model is in training mode");
  for (const auto& m : model.modules(/*include_self=*/false))
    if (auto lora = std::dynamic_pointer_cast<LoraLinearImpl>(m); lora && lora->has_adapter())
      return refuse("a LoRA adapter is attached rather than merged");
  std::map<std::string, at::Tensor> params;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    if (p.value().scalar_type() != at::kFloat)
      return refuse(str_cat("weights held in ", p.value().scalar_type(), " (", p.key(), ")"));
    if (!p.value().is_contiguous()) return refuse(str_cat(p.key(), " is not contiguous"));
    params[p.key()] = p.value();
  }
  auto get = [&](const std::string& name, bool required = true) -> const float* {
    auto it = params.find(name);
    if (it == params.end()) {
      if (required) fail("fast decoder", "the model has no ", name);
      return nullptr;
    }
    const float* data = it->second.data_ptr<float>();
    params.erase(it);  // what is left at the end is something FastDecoder would ignore
    return data;
  };

  FastDecoderModel out;
  FastDecoderShape& s = out.shape;
  s.n_vocab = c.vocab_size;
  s.hidden = c.hidden_size;
  s.intermediate = c.intermediate_size;
  s.n_layers = c.num_hidden_layers;
  s.n_heads = c.num_attention_heads;
  s.n_kv_heads = c.n_kv_heads();
  s.head_dim = c.n_head_dim();
  s.rms_norm_eps = float(c.rms_norm_eps);
  s.inv_freq = rope_inverse_frequencies(s.head_dim, c.rope_theta, c.rope_scaling);
  FastDecoderWeights& w = out.weights;
  w.embed = get("model.embed_tokens.weight");
  w.norm = get("model.norm.weight");
  w.lm_head = c.tie_word_embeddings ? w.embed : get("lm_head.weight");
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = str_cat("model.layers.", l, ".");
    FastLayerWeights lw;
    lw.input_norm = get(p + "input_layernorm.weight");
    lw.q = get(p + "self_attn.q_proj.weight");
    lw.k = get(p + "self_attn.k_proj.weight");
    lw.v = get(p + "self_attn.v_proj.weight");
    lw.q_bias = get(p + "self_attn.q_proj.bias", false);
    lw.k_bias = get(p + "self_attn.k_proj.bias", false);
    lw.v_bias = get(p + "self_attn.v_proj.bias", false);
    lw.q_norm = get(p + "self_attn.q_norm.weight", c.family().qk_norm);
    lw.k_norm = get(p + "self_attn.k_norm.weight", c.family().qk_norm);
    lw.o = get(p + "self_attn.o_proj.weight");
    lw.post_norm = get(p + "post_attention_layernorm.weight");
    lw.gate = get(p + "mlp.gate_proj.weight");
    lw.up = get(p + "mlp.up_proj.weight");
    lw.down = get(p + "mlp.down_proj.weight");
    w.layers.push_back(lw);
  }
  if (!params.empty()) return refuse(str_cat("a parameter it does not compute (", params.begin()->first, ")"));
  return out;
}

}  // namespace sculpt
