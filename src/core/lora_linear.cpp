// The adaptable linear layer; see lora_linear.h.
#include "core/lora_linear.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/init.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/int8_weights.h"

namespace sculpt {

LoraLinearImpl::LoraLinearImpl(const LoraLinearOptions& options) : options_(options) {
  if (options.int8) {
    // Quantized weights are for inference: no gradient.
    weight = register_parameter("weight", at::empty({options.out_features, options.in_features}, at::kChar), false);
    weight_scale = register_buffer("weight_scale",
                                   at::empty({options.out_features, int8_scale_columns(options.in_features)}));
  } else {
    weight = register_parameter("weight", at::empty({options.out_features, options.in_features}));
  }
  if (options.bias) bias = register_parameter("bias", at::empty({options.out_features}));
  if (!options.initialise || options.int8) return;
  // torch::nn::LinearImpl::reset_parameters.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (options.bias) {
    const double bound = 1.0 / std::sqrt(double(options.in_features));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

at::Tensor dequantize_int8(const at::Tensor& q, const at::Tensor& scale) {
  const int64_t rows = q.size(0), cols = q.size(1), groups = int8_scale_columns(cols);
  if (!scale.defined()) fail("int8 weights", "a [", rows, " x ", cols, "] int8 matrix has no scales");
  if (scale.dim() != 2 || scale.size(0) != rows || scale.size(1) != groups)
    fail("int8 weights", "scales ", scale.sizes(), " do not fit a [", rows, " x ", cols, "] matrix: expected [", rows,
         ", ", groups, "]");
  const at::Tensor padded = at::constant_pad_nd(q, {0, groups * kInt8GroupSize - cols}).to(at::kFloat);
  return (padded.view({rows, groups, kInt8GroupSize}) * scale.to(at::kFloat).unsqueeze(-1))
      .view({rows, groups * kInt8GroupSize})
      .narrow(1, 0, cols);
}

at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight_stored, const at::Tensor& bias_stored,
                          const at::Tensor& weight_scale) {
  // Weights kept in float16 or bfloat16 (runtime.dtype) are widened to the activations' type
  // here, one matrix at a time, so memory holds them at their own size; int8 ones likewise
  // dequantized (the CPU kernels read them as stored; this is the reference path).
  const bool int8 = weight_stored.scalar_type() == at::kChar;
  const bool widen = int8 || weight_stored.scalar_type() != x.scalar_type();
  const at::Tensor weight = int8 ? dequantize_int8(weight_stored, weight_scale).to(x.scalar_type())
                            : widen ? weight_stored.to(x.scalar_type())
                                    : weight_stored;
  const at::Tensor bias = widen && bias_stored.defined() ? bias_stored.to(x.scalar_type()) : bias_stored;
  const bool one_row = x.dim() >= 1 && x.numel() == x.size(-1);
  if (!one_row || at::GradMode::is_enabled() || x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat)
    return at::linear(x, weight, bias);
  at::Tensor y = at::mv(weight, x.reshape({-1}));
  if (bias.defined()) y.add_(bias);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return y.view(shape);
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = linear_forward(x, weight, bias, weight_scale);
  if (!has_adapter()) return y;
  const at::Tensor in = delta_.dropout > 0 ? at::dropout(x, delta_.dropout, is_training()) : x;
  return y + at::linear(at::linear(in, delta_.a), delta_.b) * delta_.scaling;  // [..., r] -> [..., out]
}

void LoraLinearImpl::attach_adapter(LoraDelta delta) {
  if (!delta.a.defined() || !delta.b.defined() || delta.a.dim() != 2 || delta.b.dim() != 2 ||
      delta.a.size(1) != options_.in_features || delta.b.size(0) != options_.out_features ||
      delta.a.size(0) != delta.b.size(1))
    fail("lora", "adapter tensors A ", delta.a.defined() ? delta.a.sizes() : at::IntArrayRef{}, " and B ",
         delta.b.defined() ? delta.b.sizes() : at::IntArrayRef{}, " do not fit a [", options_.out_features, " x ",
         options_.in_features, "] layer: A must be [r, ", options_.in_features, "] and B [", options_.out_features, ", r]");
  delta_ = std::move(delta);
}

}  // namespace sculpt
