// The Llama-layout decoder: layers, attention masks and the forward pass.
#include "core/transformer.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>

#include "core/error.h"
#include "core/int8_weights.h"
#include "core/kv_cache.h"
#include "core/memory_guard.h"
#include "core/moe.h"

namespace sculpt {

namespace nn = torch::nn;

// RMSNorm (Zhang & Sennrich 2019): w * x / sqrt(mean(x^2) + eps), no bias, no centring.
class RmsNormImpl : public nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
    weight_ = register_parameter("weight", at::ones({dim}));  // [dim]
  }
  at::Tensor forward(const at::Tensor& x) {
    return x * at::rsqrt(x.pow(2).mean(/*dim=*/-1, /*keepdim=*/true) + eps_) * weight_;
  }

 private:
  double eps_;
  at::Tensor weight_;
};

// A projection in -> out with the model-wide choices of `base` (initialised or not, int8 or not).
LoraLinear projection(const LoraLinearOptions& base, int64_t in, int64_t out, bool bias) {
  LoraLinearOptions options = base;
  options.in_features = in;
  options.out_features = out;
  options.bias = bias;
  return LoraLinear(options);
}

// SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) * up(x)).
class MlpImpl : public nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t inner, const LoraLinearOptions& base) {
    gate_proj_ = register_module("gate_proj", projection(base, dim, inner, false));
    up_proj_ = register_module("up_proj", projection(base, dim, inner, false));
    down_proj_ = register_module("down_proj", projection(base, inner, dim, false));
  }
  at::Tensor forward(const at::Tensor& x) {
    return down_proj_(at::silu(gate_proj_(x)) * up_proj_(x));
  }

 private:
  LoraLinear gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
};

// Grouped-query attention: n_heads query heads share n_kv_heads key/value heads, query head h
// reading kv head h / (n_heads / n_kv_heads). Qwen3 and SDAR normalise each query and key head
// (RMSNorm over head_dim: q_norm, k_norm) before the rotation.
class AttentionImpl : public nn::Module {
 public:
  AttentionImpl(const ModelConfig& c, const LoraLinearOptions& base)
      : n_heads_(c.num_attention_heads), n_kv_heads_(c.n_kv_heads()), head_dim_(c.n_head_dim()) {
    const int64_t dim = c.hidden_size, q_dim = n_heads_ * head_dim_, kv_dim = n_kv_heads_ * head_dim_;
    const bool bias = c.attention_bias;
    q_proj_ = register_module("q_proj", projection(base, dim, q_dim, bias));
    k_proj_ = register_module("k_proj", projection(base, dim, kv_dim, bias));
    v_proj_ = register_module("v_proj", projection(base, dim, kv_dim, bias));
    o_proj_ = register_module("o_proj", projection(base, q_dim, dim, false));
    if (c.family().qk_norm) {
      q_norm_ = register_module("q_norm", std::make_shared<RmsNormImpl>(head_dim_, c.rms_norm_eps));  // [hd]
      k_norm_ = register_module("k_norm", std::make_shared<RmsNormImpl>(head_dim_, c.rms_norm_eps));  // [hd]
    }
  }

  // x: [b, s, dim]; positions: [b, s]; mask: bool [b|1, 1, 1, s, t] or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& positions, const RotaryEmbedding& rope,
                     const at::Tensor& mask, KvCache* cache, int64_t layer) {
    const int64_t b = x.size(0), s = x.size(1);
    const int64_t rep = n_heads_ / n_kv_heads_;
    at::Tensor q = q_proj_(x).view({b, s, n_heads_, head_dim_});     // [b, s, h, hd]
    at::Tensor k = k_proj_(x).view({b, s, n_kv_heads_, head_dim_});  // [b, s, kv, hd]
    if (q_norm_) {
      q = q_norm_->forward(q);
      k = k_norm_->forward(k);
    }
    q = q.transpose(1, 2);                                                           // [b, h, s, hd]
    k = k.transpose(1, 2);                                                           // [b, kv, s, hd]
    at::Tensor v = v_proj_(x).view({b, s, n_kv_heads_, head_dim_}).transpose(1, 2);  // [b, kv, s, hd]
    std::tie(q, k) = rope.apply(q, k, positions);
    if (cache) std::tie(k, v) = cache->update(layer, k, v);  // [b, kv, t, hd]
    const int64_t t = k.size(2);

    // Group the query heads of each kv head so keys and values are never copied per head:
    // [b, kv, rep * s, hd] @ [b, kv, hd, t] -> [b, kv, rep * s, t].
    q = (q * (1.0 / std::sqrt(double(head_dim_)))).reshape({b, n_kv_heads_, rep * s, head_dim_});
    // The scores and their softmax are materialised: quadratic in the length, so a long input
    // or canvas is refused here rather than by the out-of-memory killer.
    if (layer == 0)
      check_memory("attention", 2 * b * n_heads_ * s * t * int64_t(sizeof(float)),
                   str_cat("scores over ", s, " x ", t, " positions for ", b, " sequence(s); use a shorter input or canvas "
                           "(the pipeline writes long documents in sections) or a smaller batch"));
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2));
    if (mask.defined()) {
      scores = scores.view({b, n_kv_heads_, rep, s, t})
                   .masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity())
                   .view({b, n_kv_heads_, rep * s, t});
    }
    at::Tensor probs = at::softmax(scores, /*dim=*/-1);
    if (dropout > 0 && is_training()) probs = at::dropout(probs, dropout, /*train=*/true);
    at::Tensor out = at::matmul(probs, v);  // [b, kv, rep * s, hd]
    out = out.view({b, n_heads_, s, head_dim_}).transpose(1, 2).reshape({b, s, n_heads_ * head_dim_});
    return o_proj_(out);
  }

  double dropout = 0;  // on the attention probabilities, in training mode only

 private:
  int64_t n_heads_, n_kv_heads_, head_dim_;
  LoraLinear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  std::shared_ptr<RmsNormImpl> q_norm_, k_norm_;  // per-head norms (Qwen3), null otherwise
};

// Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(.)); the MLP is a sparse
// mixture of experts (block_sparse_moe, as Mixtral names it) in the config's sparse layers.
class DecoderLayerImpl : public nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& c, bool sparse, const LoraLinearOptions& base) {
    self_attn_ = register_module("self_attn", std::make_shared<AttentionImpl>(c, base));
    if (sparse)
      moe_ = register_module("block_sparse_moe", std::make_shared<SparseMoeImpl>(c.hidden_size, c.intermediate_size,
                                                                                c.num_local_experts, c.num_experts_per_tok));
    else
      mlp_ = register_module("mlp", std::make_shared<MlpImpl>(c.hidden_size, c.intermediate_size, base));
    input_layernorm_ = register_module("input_layernorm", std::make_shared<RmsNormImpl>(c.hidden_size, c.rms_norm_eps));
    post_attention_layernorm_ =
        register_module("post_attention_layernorm", std::make_shared<RmsNormImpl>(c.hidden_size, c.rms_norm_eps));
  }
  // router_logits (sparse layers only, if given) receives the router's logits.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& positions, const RotaryEmbedding& rope,
                     const at::Tensor& mask, KvCache* cache, int64_t layer, std::vector<at::Tensor>* router_logits) {
    at::Tensor h = x + drop(self_attn_->forward(input_layernorm_->forward(x), positions, rope, mask, cache, layer));
    const at::Tensor normed = post_attention_layernorm_->forward(h);
    if (!moe_) return h + drop(mlp_->forward(normed));
    at::Tensor logits;
    at::Tensor out = h + drop(moe_->forward(normed, router_logits ? &logits : nullptr));
    if (router_logits) router_logits->push_back(logits);
    return out;
  }

  void set_dropout(double p) {
    dropout_ = p;
    self_attn_->dropout = p;
  }

 private:
  // Residual dropout on a sublayer's output before it joins the stream (Vaswani et al. 2017, 5.4).
  at::Tensor drop(const at::Tensor& y) const {
    return dropout_ > 0 && is_training() ? at::dropout(y, dropout_, /*train=*/true) : y;
  }

  double dropout_ = 0;
  std::shared_ptr<AttentionImpl> self_attn_;
  std::shared_ptr<MlpImpl> mlp_;         // dense layers
  std::shared_ptr<SparseMoeImpl> moe_;   // sparse layers
  std::shared_ptr<RmsNormImpl> input_layernorm_, post_attention_layernorm_;
};

TransformerImpl::TransformerImpl(ModelConfig config, WeightInit init)
    : config_(std::move(config)),
      rope_(config_.n_head_dim(), config_.rope_theta, config_.max_position_embeddings, config_.rope_scaling) {
  config_.validate_complete();
  const ModelConfig& c = config_;
  model_ = register_module("model", std::make_shared<nn::Module>("LlamaModel"));
  const bool initialise = init == WeightInit::kRandom;
  const bool int8 = c.int8_group_size > 0;
  if (int8 && initialise) fail("transformer", "int8 weights are quantized from trained ones (sculpt model quantize), never initialised");
  LoraLinearOptions base;
  base.initialise = initialise;
  base.int8 = int8;
  nn::EmbeddingOptions embedding(c.vocab_size, c.hidden_size);
  if (!initialise) embedding._weight(at::empty({c.vocab_size, c.hidden_size}));
  embed_tokens_ = model_->register_module("embed_tokens", nn::Embedding(embedding));
  if (int8) {  // the int8 layout of core/int8_weights.h, for a checkpoint to fill
    embed_tokens_->weight.set_requires_grad(false);
    embed_tokens_->weight.set_data(at::empty({c.vocab_size, c.hidden_size}, at::kChar));
    embed_scale_ = embed_tokens_->register_buffer("weight_scale",
                                                  at::empty({c.vocab_size, int8_scale_columns(c.hidden_size)}));
  }
  nn::ModuleList layers;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers_.push_back(std::make_shared<DecoderLayerImpl>(c, c.is_sparse_layer(i), base));
    layers->push_back(layers_.back());
  }
  model_->register_module("layers", layers);
  norm_ = model_->register_module("norm", std::make_shared<RmsNormImpl>(c.hidden_size, c.rms_norm_eps));
  if (!c.tie_word_embeddings)
    lm_head_ = register_module("lm_head", projection(base, c.hidden_size, c.vocab_size, false));
}

void TransformerImpl::set_dropout(double p) {
  if (!(p >= 0 && p < 1)) fail("transformer", "dropout must be in [0, 1), got ", p);
  for (auto& layer : layers_) layer->set_dropout(p);
}

at::Tensor TransformerImpl::attention_mask(int64_t batch, int64_t seq, int64_t cache_len,
                                           const at::Tensor& key_mask, const at::Tensor& pattern) const {
  const int64_t total = cache_len + seq;
  at::Tensor allowed;  // [seq, total]
  auto i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor qi = at::arange(cache_len, total, i64).unsqueeze(1);  // query slots [seq, 1]
  at::Tensor kj = at::arange(0, total, i64).unsqueeze(0);          // key slots [1, total]
  if (pattern.defined()) {
    if (pattern.dim() != 2 || pattern.size(0) != seq || pattern.size(1) != total)
      fail("transformer", "attention_mask must be bool [", seq, ", ", total, "], got ", pattern.sizes());
    allowed = pattern.to(at::kBool);
  } else switch (config_.attention) {
    case AttentionMode::kCausal:
      if (seq > 1) allowed = kj <= qi;  // a single new query may see every cached slot
      break;
    case AttentionMode::kBlockCausal:
      allowed = at::floor_divide(kj, config_.block_size) <= at::floor_divide(qi, config_.block_size);
      break;
    case AttentionMode::kBidirectional:
      break;
  }
  at::Tensor mask;
  if (allowed.defined()) mask = allowed.view({1, 1, 1, seq, total});
  if (key_mask.defined()) {
    if (key_mask.dim() != 2 || key_mask.size(0) != batch || key_mask.size(1) != total)
      fail("transformer", "key_mask must be bool [", batch, ", ", total, "], got ", key_mask.sizes());
    at::Tensor km = key_mask.to(at::kBool).view({batch, 1, 1, 1, total});
    mask = mask.defined() ? at::logical_and(mask, km) : km;
    // A masked (padding) query still sees itself, so its row of scores is never all -inf: a
    // NaN there would reach real positions through 0 * NaN in the next layer's value product.
    mask = at::logical_or(mask, (kj == qi).view({1, 1, 1, seq, total}));
  }
  return mask;
}

at::Tensor TransformerImpl::hidden_states(const at::Tensor& tokens, const ForwardArgs& args) {
  if (tokens.dim() != 2) fail("transformer", "tokens must be [batch, seq], got ", tokens.sizes());
  const int64_t b = tokens.size(0), s = tokens.size(1);
  if (s == 0) fail("transformer", "empty input sequence");
  const int64_t cache_len = args.cache ? args.cache->length() : 0;
  if (tokens.numel() > 0) {
    const int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab_size)
      fail("transformer", "token id ", lo < 0 ? lo : hi, " is outside the vocabulary [0, ", config_.vocab_size, ")");
  }
  at::Tensor positions = args.positions;
  if (!positions.defined())
    positions = at::arange(cache_len, cache_len + s, at::TensorOptions().dtype(at::kLong)).unsqueeze(0).expand({b, s});
  else if (positions.sizes() != tokens.sizes())
    fail("transformer", "positions ", positions.sizes(), " must match tokens ", tokens.sizes());
  const at::Tensor mask = attention_mask(b, s, cache_len, args.key_mask, args.attention_mask);

  // Router logits are kept only while training, for the load-balancing loss.
  router_logits_.clear();
  std::vector<at::Tensor>* router_logits = is_training() && config_.num_local_experts > 0 ? &router_logits_ : nullptr;
  at::Tensor x = embed(tokens);  // [b, s, dim] float32
  for (size_t i = 0; i < layers_.size(); ++i)
    x = layers_[i]->forward(x, positions, rope_, mask, args.cache, int64_t(i), router_logits);
  if (args.cache) args.cache->advance(s);
  return std::static_pointer_cast<RmsNormImpl>(norm_)->forward(x);
}

at::Tensor TransformerImpl::logits(const at::Tensor& hidden) {
  check_memory("logits", hidden.numel() / hidden.size(-1) * config_.vocab_size * int64_t(sizeof(float)),
               str_cat(hidden.numel() / hidden.size(-1), " positions x ", config_.vocab_size,
                       " pieces; use a shorter input or a smaller batch"));
  if (lm_head_) return lm_head_(hidden);
  return linear_forward(hidden, embed_tokens_->weight, {}, embed_scale_);  // tied to the embeddings
}

at::Tensor TransformerImpl::embed(const at::Tensor& tokens) {
  if (!embed_scale_.defined()) return embed_tokens_(tokens).to(at::kFloat);  // float16/bfloat16 rows widened
  const at::Tensor flat = tokens.reshape({-1});
  const at::Tensor rows = dequantize_int8(embed_tokens_->weight.index_select(0, flat), embed_scale_.index_select(0, flat));
  std::vector<int64_t> shape = tokens.sizes().vec();
  shape.push_back(config_.hidden_size);
  return rows.view(shape);
}

at::Tensor TransformerImpl::forward(const at::Tensor& tokens, const ForwardArgs& args) {
  return logits(hidden_states(tokens, args));
}

}  // namespace sculpt
