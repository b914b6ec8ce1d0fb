// Rotary position embedding (Su et al. 2021, RoFormer) in the Hugging Face "rotate-half"
// convention: the head dimension is split into halves rather than interleaved pairs. The
// frequencies are RoPE's own or Llama 3.1's schedule (rope_scaling type llama3).
//
//   RotaryEmbedding rope(/*head_dim=*/64, /*theta=*/10000.0, /*max_positions=*/2048);
//   rope.apply(q, k, positions);  // q, k: [batch, heads, seq, head_dim]; positions: [batch, seq]
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/model_config.h"
#include "core/rope_frequencies.h"

namespace sculpt {

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  RotaryEmbedding(int64_t head_dim, double theta, int64_t max_positions, const RopeScaling& scaling = {});

  // Returns q and k rotated by the angles of `positions` (int64 [batch, seq], each in
  // [0, max_positions)); throws Error for a position outside the context.
  std::pair<at::Tensor, at::Tensor> apply(const at::Tensor& q, const at::Tensor& k,
                                          const at::Tensor& positions) const;

  int64_t max_positions() const { return max_positions_; }

 private:
  int64_t head_dim_ = 0;
  int64_t max_positions_ = 0;
  // float64 [head_dim / 2]: the angles are computed per call in float64 and rounded to float32,
  // so a context of 128K positions costs no table.
  at::Tensor inv_freq_;
};

}  // namespace sculpt
