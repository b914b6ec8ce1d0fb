// RotaryEmbedding: the frequency schedules and the rotate-half application.
#include "core/rope.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace sculpt {
namespace {

// rotate_half(x) = cat(-x2, x1) where x = cat(x1, x2) along the last dimension.
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, /*dim=*/-1);
}

}  // namespace

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, double theta, int64_t max_positions, const RopeScaling& scaling)
    : head_dim_(head_dim), max_positions_(max_positions) {
  inv_freq_ = at::tensor(rope_inverse_frequencies(head_dim, theta, scaling), at::TensorOptions().dtype(at::kDouble));
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::apply(const at::Tensor& q, const at::Tensor& k,
                                                         const at::Tensor& positions) const {
  if (positions.numel() > 0) {
    const int64_t lo = positions.min().item<int64_t>();
    const int64_t hi = positions.max().item<int64_t>();
    if (lo < 0 || hi >= max_positions_)
      fail("rotary embedding", "position ", lo < 0 ? lo : hi, " is outside the context [0, ",
           max_positions_, ")");
  }
  // [batch, 1, seq, head_dim], broadcast over heads
  const at::Tensor freqs = positions.to(at::kDouble).unsqueeze(-1) * inv_freq_;  // [batch, seq, head_dim / 2]
  const at::Tensor angles = at::cat({freqs, freqs}, /*dim=*/-1).unsqueeze(1);    // [batch, 1, seq, head_dim]
  const at::Tensor cos = angles.cos().to(at::kFloat), sin = angles.sin().to(at::kFloat);
  return {q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin};
}

}  // namespace sculpt
