// A linear layer that can carry a low-rank adapter (LoRA, Hu et al. 2021, arXiv:2106.09685):
// y = x W^T + b, plus (alpha / r) * B A dropout(x) while an adapter is attached.
//
//   LoraLinear q(LoraLinearOptions{384, 384});          // as torch::nn::Linear, same init
//   q->attach_adapter({a, b, /*scaling=*/2.0, /*dropout=*/0.05});  // a [r, in], b [out, r]
//
// The adapter's tensors are not registered parameters of the layer: named_parameters(),
// checkpoints and exports stay exactly the base model's; train/lora_adapter.h owns, trains and
// saves the adapters, and core/lora_merge.h folds them into the weights.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace sculpt {

struct LoraLinearOptions {
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = false;
  // false: the weights are left uninitialised (at::empty, no page touched), for a model whose
  // every weight a checkpoint is about to replace.
  bool initialise = true;
  // Holds the weight in Sculpt's int8 format (core/int8_weights.h): "weight" int8 and the buffer
  // "weight_scale" [out, ceil(in / 32)], both uninitialised for a checkpoint to fill.
  bool int8 = false;
};

// x W^T + b for x [..., in], W [out, in], b [out] or undefined: at::linear, except for a single
// row of float32 without autograd (decoding one token), which goes to BLAS gemv: OpenBLAS's
// gemm packs the whole weight matrix before multiplying, gemv reads it once (5x faster for one
// 256-wide row against a [4096, 256] matrix, 46 us against 239 us, measured on 2 threads here).
// A weight of another dtype than x (float16 or bfloat16 weights, float32 activations) is widened
// to x's for the product; an int8 weight is dequantized with its scale (core/int8_weights.h).
at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {},
                          const at::Tensor& weight_scale = {});

// q [rows, cols] int8 times its scales [rows, ceil(cols / 32)], as float32: W ~ q * s per group.
at::Tensor dequantize_int8(const at::Tensor& q, const at::Tensor& scale);

// The low-rank update of one layer.
struct LoraDelta {
  at::Tensor a;          // lora_A [rank, in_features]
  at::Tensor b;          // lora_B [out_features, rank]
  double scaling = 1.0;  // alpha / rank (alpha / sqrt(rank) with rsLoRA)
  double dropout = 0.0;  // on the adapter's input, in training mode only
};

class LoraLinearImpl : public torch::nn::Module {
 public:
  // Registers "weight" [out, in] and "bias" [out] and initialises them as torch::nn::Linear does
  // (the same calls in the same order, so seeded models come out the same).
  explicit LoraLinearImpl(const LoraLinearOptions& options);

  // x [..., in] -> [..., out].
  at::Tensor forward(const at::Tensor& x);

  // Throws Error if the shapes do not fit [rank, in] and [out, rank].
  void attach_adapter(LoraDelta delta);
  void detach_adapter() { delta_ = LoraDelta{}; }
  bool has_adapter() const { return delta_.a.defined(); }
  const LoraDelta& adapter() const { return delta_; }

  int64_t in_features() const { return options_.in_features; }
  int64_t out_features() const { return options_.out_features; }

  at::Tensor weight;  // [out_features, in_features]
  at::Tensor bias;    // [out_features], undefined without bias
  at::Tensor weight_scale;  // int8 weights only: [out_features, ceil(in_features / 32)]

 private:
  LoraLinearOptions options_;
  LoraDelta delta_;
};
TORCH_MODULE(LoraLinear);

}  // namespace sculpt
