// RotaryEmbedding: cos/sin tables and the rotate-half application.
#include "core/rope.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace sculpt {
namespace {

// rotate_half(x) = cat(-x2, x1) where x = cat(x1, x2) along the last dimension.
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, /*dim=*/-1);
}

}  // namespace

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, double theta, int64_t max_positions)
    : head_dim_(head_dim), max_positions_(max_positions) {
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  // inv_freq[i] = theta^(-2i / head_dim), i < head_dim / 2
  at::Tensor inv_freq = at::pow(theta, -at::arange(0, head_dim, 2, f64) / double(head_dim));
  at::Tensor freqs = at::outer(at::arange(max_positions, f64), inv_freq);  // [pos, head_dim/2]
  at::Tensor emb = at::cat({freqs, freqs}, /*dim=*/-1);                   // [pos, head_dim]
  cos_ = emb.cos().to(at::kFloat);
  sin_ = emb.sin().to(at::kFloat);
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
  at::Tensor cos = cos_.index_select(0, positions.reshape(-1)).view({positions.size(0), 1, positions.size(1), head_dim_});
  at::Tensor sin = sin_.index_select(0, positions.reshape(-1)).view({positions.size(0), 1, positions.size(1), head_dim_});
  return {q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin};
}

}  // namespace sculpt
