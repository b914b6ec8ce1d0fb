// Rotary position embedding (Su et al. 2021, RoFormer) in the Hugging Face "rotate-half"
// convention: the head dimension is split into halves rather than interleaved pairs.
//
//   RotaryEmbedding rope(/*head_dim=*/64, /*theta=*/10000.0, /*max_positions=*/2048);
//   rope.apply(q, k, positions);  // q, k: [batch, heads, seq, head_dim]; positions: [batch, seq]
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace sculpt {

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  RotaryEmbedding(int64_t head_dim, double theta, int64_t max_positions);

  // Returns q and k rotated by the angles of `positions` (int64 [batch, seq], each in
  // [0, max_positions)); throws Error for a position outside the table.
  std::pair<at::Tensor, at::Tensor> apply(const at::Tensor& q, const at::Tensor& k,
                                          const at::Tensor& positions) const;

  int64_t max_positions() const { return max_positions_; }

 private:
  int64_t head_dim_ = 0;
  int64_t max_positions_ = 0;
  // Tables computed once in float64 and stored in float32: [max_positions, head_dim].
  at::Tensor cos_;
  at::Tensor sin_;
};

}  // namespace sculpt
