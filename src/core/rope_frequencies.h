// The rotation frequencies of rotary position embeddings (core/rope.h), torch-free: the CPU
// kernels' decoder (kernels/fast_decoder.h) takes them as numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model_config.h"

namespace sculpt {

// The head_dim / 2 rotation frequencies inv_freq[i] = theta^(-2i / head_dim) (RoFormer eq. 15),
// then, under Llama 3's scaling (transformers' _compute_llama3_parameters), with wavelength
// w = 2 pi / inv_freq, L = original_max_position_embeddings:
//   w < L / high_freq_factor: kept;  w > L / low_freq_factor: divided by factor;
//   between: (1 - s) inv_freq / factor + s inv_freq, s = (L / w - low_freq_factor) / (high_freq_factor - low_freq_factor).
std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta, const RopeScaling& scaling = {});

}  // namespace sculpt
