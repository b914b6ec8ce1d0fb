// The Llama-layout decoder shared by the drafter and the refiner: RMSNorm, rotary positions
// (optionally Llama 3's frequencies), grouped-query attention (optionally with q/k/v biases, or
// Qwen3's per-head q/k norms), SwiGLU MLP or a sparse mixture of experts (Mixtral), tied or
// separate head; attention causal, bidirectional or block-causal. Submodules carry the Hugging
// Face names, so named_parameters() are the checkpoint's tensor names
// (model.layers.0.self_attn.q_proj.weight); checkpoint.cpp maps LLaDA's onto them.
// The attention and MLP projections and lm_head are LoraLinear layers, which can carry LoRA adapters
// (core/lora_merge.h) without changing those names.
// Weights may be held in float16 or bfloat16 (runtime.dtype): they are widened one matrix at a
// time as they are used, and activations, caches and logits stay float32.
//
//   Transformer model(config);
//   at::Tensor logits = model->forward(tokens);  // tokens: int64 [batch, seq] -> [batch, seq, vocab]
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "core/lora_linear.h"
#include "core/model_config.h"
#include "core/rope.h"

namespace sculpt {

class KvCache;
class DecoderLayerImpl;

// Optional inputs of one forward pass.
struct ForwardArgs {
  // int64 [batch, seq]; undefined = cache length + arange(seq) for every row.
  at::Tensor positions;
  // Slots of the sequence (cached + new) that may be attended to: bool [batch, cache_len + seq];
  // undefined = all. Used for left-padded batches.
  at::Tensor key_mask;
  // Keys and values of earlier positions; new ones are appended. nullptr = no cache.
  KvCache* cache = nullptr;
  // Replaces the attention pattern of the config: bool [seq, cache_len + seq] of allowed
  // (query, key) pairs; undefined = the config's pattern. Combined with key_mask. Used by
  // block-causal masked-diffusion training, which attends across a noisy and a clean copy.
  at::Tensor attention_mask;
};

// kRandom: weights initialised as torch::nn's layers do, for training from scratch. kNone: left
// uninitialised (no memory touched), for a model whose every weight is then loaded.
enum class WeightInit { kRandom, kNone };

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(ModelConfig config, WeightInit init = WeightInit::kRandom);

  // Final hidden states after model.norm: [batch, seq, hidden_size].
  at::Tensor hidden_states(const at::Tensor& tokens, const ForwardArgs& args = {});
  // Logits over the vocabulary: [batch, n, vocab_size] for hidden [batch, n, hidden_size].
  at::Tensor logits(const at::Tensor& hidden);
  // hidden_states then logits.
  at::Tensor forward(const at::Tensor& tokens, const ForwardArgs& args = {});

  const ModelConfig& config() const { return config_; }

  // Train-time dropout at rate p in [0, 1) on the attention probabilities and on each
  // sublayer's output before the residual add; active only in training mode, so evaluation,
  // generation and exported weights are unchanged. A training choice (train.dropout), not
  // part of the config. Default 0.
  void set_dropout(double p);

  // Mixture-of-experts models in training mode: the router logits of the last forward pass,
  // one [tokens, n_experts] tensor per sparse layer (train/moe_balance.h's load_balancing_loss
  // takes them). Empty in eval mode and for dense models.
  const std::vector<at::Tensor>& router_logits() const { return router_logits_; }

 private:
  // Boolean [batch|1, 1, 1, seq, cache_len + seq] of allowed (query, key) pairs, or undefined
  // when every pair is allowed; `pattern` (ForwardArgs::attention_mask) replaces the config's.
  at::Tensor attention_mask(int64_t batch, int64_t seq, int64_t cache_len, const at::Tensor& key_mask,
                            const at::Tensor& pattern) const;

  // The embedding rows of `tokens` as float32 [..., hidden].
  at::Tensor embed(const at::Tensor& tokens);

  ModelConfig config_;
  RotaryEmbedding rope_;
  std::shared_ptr<torch::nn::Module> model_;        // "model": embed_tokens, layers, norm
  torch::nn::Embedding embed_tokens_{nullptr};      // model.embed_tokens [vocab, hidden]
  at::Tensor embed_scale_;                          // its int8 scales (model.embed_tokens.weight_scale)
  std::vector<std::shared_ptr<DecoderLayerImpl>> layers_;  // model.layers.N
  std::shared_ptr<torch::nn::Module> norm_;         // model.norm (RMSNorm)
  LoraLinear lm_head_{nullptr};                     // lm_head [vocab, hidden]; null when tied
  std::vector<at::Tensor> router_logits_;
};
TORCH_MODULE(Transformer);

}  // namespace sculpt
