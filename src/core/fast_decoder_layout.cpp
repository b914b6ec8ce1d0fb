// A decoder's named tensors as FastDecoder weights; see fast_decoder_layout.h.
#include "core/fast_decoder_layout.h"

#include <cstring>

#include "core/error.h"
#include "core/int8_weights.h"
#include "core/rope_frequencies.h"

namespace sculpt {
namespace {

// Thrown inside fast_decoder_layout for what FastDecoder does not compute; becomes *why_not.
struct Refusal {
  std::string why;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += str_cat(i ? ", " : "", shape[i]);
  return s + "]";
}

WeightType weight_type(DType dtype) {
  switch (dtype) {
    case DType::kF32: return WeightType::kF32;
    case DType::kF16: return WeightType::kF16;
    case DType::kBF16: return WeightType::kBF16;
    case DType::kI8: return WeightType::kInt8;
  }
  return WeightType::kF32;
}

// Takes tensors out of the map as the decoder's parts are found, checking each one's shape; what
// is left at the end is a tensor FastDecoder would ignore.
class TensorTaker {
 public:
  TensorTaker(StoredTensors tensors, FastDecoderWeights& w) : tensors_(std::move(tensors)), w_(w) {}

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) {
    const StoredTensor t = take(name, {rows, cols});
    if (matrix_dtype_ && *matrix_dtype_ != t.dtype)
      throw Refusal{str_cat("matrices held in both ", dtype_name(*matrix_dtype_), " and ", dtype_name(t.dtype))};
    matrix_dtype_ = t.dtype;
    w_.matrix_type = weight_type(t.dtype);
    if (t.dtype != DType::kI8) return {t.data, nullptr};
    const std::string scale_name = name + kInt8ScaleSuffix;
    auto it = tensors_.find(scale_name);
    if (it == tensors_.end() || it->second.dtype != DType::kF32)
      throw Refusal{str_cat("the int8 matrix ", name, " has no float32 scales")};
    const StoredTensor s = take(scale_name, {rows, int8_scale_columns(cols)});
    return {t.data, static_cast<const float*>(s.data)};
  }

  // A vector as float32: as stored, or widened into w.owned. Null when absent and not required.
  const float* vector(const std::string& name, int64_t n, bool required = true) {
    if (!required && tensors_.find(name) == tensors_.end()) return nullptr;
    const StoredTensor t = take(name, {n});
    if (t.dtype == DType::kF32) return static_cast<const float*>(t.data);
    if (t.dtype == DType::kI8) throw Refusal{str_cat(name, " is an int8 vector")};
    std::vector<float> wide(static_cast<size_t>(n));
    const auto* half = static_cast<const uint16_t*>(t.data);
    for (int64_t i = 0; i < n; ++i) wide[size_t(i)] = t.dtype == DType::kF16 ? f16_to_f32(half[i]) : bf16_to_f32(half[i]);
    w_.owned.push_back(std::move(wide));
    return w_.owned.back().data();
  }

  // The name of a tensor nothing took, or "".
  std::string leftover() const { return tensors_.empty() ? "" : tensors_.begin()->first; }

 private:
  StoredTensor take(const std::string& name, const std::vector<int64_t>& shape) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw Refusal{str_cat("the model has no ", name)};
    StoredTensor t = it->second;
    tensors_.erase(it);
    if (t.shape != shape)
      throw Refusal{str_cat(name, " has shape ", shape_text(t.shape), ", the config says ", shape_text(shape))};
    if (t.data == nullptr || reinterpret_cast<uintptr_t>(t.data) % dtype_size(t.dtype) != 0)
      throw Refusal{str_cat(name, " is not aligned to its dtype")};
    return t;
  }

  StoredTensors tensors_;
  FastDecoderWeights& w_;
  std::optional<DType> matrix_dtype_;
};

FastDecoderShape fast_decoder_shape(const ModelConfig& c) {
  FastDecoderShape s;
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
  return s;
}

}  // namespace

bool fast_decoder_computes(const ModelConfig& c, std::string* why_not) {
  std::string why;
  if (c.attention == AttentionMode::kBlockCausal) why = str_cat(attention_mode_name(c.attention), " attention");
  else if (c.num_local_experts > 0) why = "a mixture of experts";
  if (why_not && !why.empty()) *why_not = why;
  return why.empty();
}

std::optional<FastDecoderModel> fast_decoder_layout(const ModelConfig& c, StoredTensors tensors, std::string* why_not) {
  if (!fast_decoder_computes(c, why_not)) return std::nullopt;
  FastDecoderModel out;
  out.shape = fast_decoder_shape(c);
  const FastDecoderShape& s = out.shape;
  FastDecoderWeights& w = out.weights;
  const int64_t q_width = s.n_heads * s.head_dim, kv_width = s.n_kv_heads * s.head_dim;
  try {
    TensorTaker take(std::move(tensors), w);
    w.embed = take.matrix("model.embed_tokens.weight", s.n_vocab, s.hidden);
    w.norm = take.vector("model.norm.weight", s.hidden);
    w.lm_head = c.tie_word_embeddings ? w.embed : take.matrix("lm_head.weight", s.n_vocab, s.hidden);
    for (int64_t l = 0; l < s.n_layers; ++l) {
      const std::string p = str_cat("model.layers.", l, ".");
      FastLayerWeights lw;
      lw.input_norm = take.vector(p + "input_layernorm.weight", s.hidden);
      lw.q = take.matrix(p + "self_attn.q_proj.weight", q_width, s.hidden);
      lw.k = take.matrix(p + "self_attn.k_proj.weight", kv_width, s.hidden);
      lw.v = take.matrix(p + "self_attn.v_proj.weight", kv_width, s.hidden);
      lw.q_bias = take.vector(p + "self_attn.q_proj.bias", q_width, false);
      lw.k_bias = take.vector(p + "self_attn.k_proj.bias", kv_width, false);
      lw.v_bias = take.vector(p + "self_attn.v_proj.bias", kv_width, false);
      lw.q_norm = take.vector(p + "self_attn.q_norm.weight", s.head_dim, c.family().qk_norm);
      lw.k_norm = take.vector(p + "self_attn.k_norm.weight", s.head_dim, c.family().qk_norm);
      lw.o = take.matrix(p + "self_attn.o_proj.weight", s.hidden, q_width);
      lw.post_norm = take.vector(p + "post_attention_layernorm.weight", s.hidden);
      lw.gate = take.matrix(p + "mlp.gate_proj.weight", s.intermediate, s.hidden);
      lw.up = take.matrix(p + "mlp.up_proj.weight", s.intermediate, s.hidden);
      lw.down = take.matrix(p + "mlp.down_proj.weight", s.hidden, s.intermediate);
      w.layers.push_back(lw);
    }
    if (const std::string left = take.leftover(); !left.empty())
      throw Refusal{str_cat("a tensor it does not compute (", left, ")")};
  } catch (const Refusal& r) {
    if (why_not) *why_not = r.why;
    return std::nullopt;
  }
  return out;
}

}  // namespace sculpt
