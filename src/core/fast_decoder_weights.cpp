// The drafter's and the refiner's models as FastDecoder weights; see fast_decoder_weights.h.
#include "core/fast_decoder_weights.h"

#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/int8_weights.h"
#include "core/rope.h"

namespace sculpt {

bool fast_decoder_computes(const ModelConfig& c, std::string* why_not) {
  std::string why;
  if (c.attention == AttentionMode::kBlockCausal) why = str_cat(attention_mode_name(c.attention), " attention");
  else if (c.num_local_experts > 0) why = "a mixture of experts";
  if (why_not && !why.empty()) *why_not = why;
  return why.empty();
}

WeightsDType kernels_weights_dtype(const std::string& model_dir, WeightsDType dtype, DecodeBackend backend) {
  const std::string config = model_dir + "/config.json";
  if (dtype == WeightsDType::kAuto && backend == DecodeBackend::kAuto && file_exists(config) &&
      fast_decoder_computes(load_model_config(config)))
    return WeightsDType::kCheckpoint;
  return dtype;
}

std::optional<FastDecoderModel> fast_decoder_model(TransformerImpl& model, std::string* why_not) {
  auto refuse = [&](const std::string& why) -> std::optional<FastDecoderModel> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  const ModelConfig& c = model.config();
  if (!fast_decoder_computes(c, why_not)) return std::nullopt;
  if (model.is_training()) return refuse("the model is in training mode");
  for (const auto& m : model.modules(/*include_self=*/false))
    if (auto lora = std::dynamic_pointer_cast<LoraLinearImpl>(m); lora && lora->has_adapter())
      return refuse("a LoRA adapter is attached rather than merged");
  std::map<std::string, at::Tensor> params;
  std::optional<at::ScalarType> matrix_dtype;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    const at::ScalarType dtype = p.value().scalar_type();
    if (dtype != at::kFloat && dtype != at::kHalf && dtype != at::kBFloat16 && dtype != at::kChar)
      return refuse(str_cat("weights held in ", dtype, " (", p.key(), ")"));
    if (p.value().dim() == 2) {
      if (matrix_dtype && *matrix_dtype != dtype)
        return refuse(str_cat("matrices held in both ", *matrix_dtype, " and ", dtype));
      matrix_dtype = dtype;
    }
    if (!p.value().is_contiguous()) return refuse(str_cat(p.key(), " is not contiguous"));
    params[p.key()] = p.value();
  }
  auto scales = model.named_buffers(/*recurse=*/true);  // an int8 matrix's (core/int8_weights.h)
  FastDecoderModel out;
  FastDecoderWeights& w = out.weights;
  w.matrix_type = matrix_dtype == at::kHalf       ? WeightType::kF16
                  : matrix_dtype == at::kBFloat16 ? WeightType::kBF16
                  : matrix_dtype == at::kChar     ? WeightType::kInt8
                                                  : WeightType::kF32;
  // Takes a parameter out of `params` (what is left at the end is something FastDecoder would
  // ignore): a matrix as stored, a vector as float32 (a copy in w.owned if it is stored narrower).
  auto take = [&](const std::string& name, bool required) -> at::Tensor {
    auto it = params.find(name);
    if (it == params.end()) {
      if (required) fail("fast decoder", "the model has no ", name);
      return {};
    }
    at::Tensor t = it->second;
    params.erase(it);
    return t;
  };
  auto matrix = [&](const std::string& name) -> WeightMatrix {
    const at::Tensor t = take(name, true);
    if (t.scalar_type() != at::kChar) return {t.data_ptr(), nullptr};
    const at::Tensor* scale = scales.find(name + kInt8ScaleSuffix);
    if (scale == nullptr || scale->scalar_type() != at::kFloat || !scale->is_contiguous() ||
        scale->sizes() != at::IntArrayRef{t.size(0), int8_scale_columns(t.size(1))})
      fail("fast decoder", "the int8 matrix ", name, " has no float32 scales of shape [", t.size(0), ", ",
           int8_scale_columns(t.size(1)), "]");
    return {t.data_ptr(), scale->data_ptr<float>()};
  };
  auto vector = [&](const std::string& name, bool required = true) -> const float* {
    const at::Tensor t = take(name, required);
    if (!t.defined()) return nullptr;
    if (t.scalar_type() == at::kFloat) return t.data_ptr<float>();
    const at::Tensor wide = t.to(at::kFloat).contiguous();
    w.owned.emplace_back(wide.data_ptr<float>(), wide.data_ptr<float>() + wide.numel());
    return w.owned.back().data();
  };

  FastDecoderShape& s = out.shape;
  s.n_vocab = c.vocab_size;
  s.hidden = c.hidden_size;
  s.intermediate = c.intermediate_size;
  s.n_layers = c.num_hidden_layers;
  s.n_heads = c.num_attention_heads;
  s.n_kv_heads = c.n_kv_heads();
  s.head_dim = c.n_head_dim();
  s.rms_norm_eps = float(c.rms_norm_eps);
  s.causal = c.attention == AttentionMode::kCausal;
  s.inv_freq = rope_inverse_frequencies(s.head_dim, c.rope_theta, c.rope_scaling);
  w.embed = matrix("model.embed_tokens.weight");
  w.norm = vector("model.norm.weight");
  w.lm_head = c.tie_word_embeddings ? w.embed : matrix("lm_head.weight");
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = str_cat("model.layers.", l, ".");
    FastLayerWeights lw;
    lw.input_norm = vector(p + "input_layernorm.weight");
    lw.q = matrix(p + "self_attn.q_proj.weight");
    lw.k = matrix(p + "self_attn.k_proj.weight");
    lw.v = matrix(p + "self_attn.v_proj.weight");
    lw.q_bias = vector(p + "self_attn.q_proj.bias", false);
    lw.k_bias = vector(p + "self_attn.k_proj.bias", false);
    lw.v_bias = vector(p + "self_attn.v_proj.bias", false);
    lw.q_norm = vector(p + "self_attn.q_norm.weight", c.family().qk_norm);
    lw.k_norm = vector(p + "self_attn.k_norm.weight", c.family().qk_norm);
    lw.o = matrix(p + "self_attn.o_proj.weight");
    lw.post_norm = vector(p + "post_attention_layernorm.weight");
    lw.gate = matrix(p + "mlp.gate_proj.weight");
    lw.up = matrix(p + "mlp.up_proj.weight");
    lw.down = matrix(p + "mlp.down_proj.weight");
    w.layers.push_back(lw);
  }
  if (!params.empty()) return refuse(str_cat("a parameter it does not compute (", params.begin()->first, ")"));
  return out;
}

}  // namespace sculpt
