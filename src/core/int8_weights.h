// Sculpt's int8 weight format: a matrix W [rows, cols] stored as int8 q [rows, cols] and float32
// scales s [rows, ceil(cols / 32)], W[r, c] ~ q[r, c] * s[r, c / 32]. Symmetric round-to-nearest
// per group of 32 consecutive inputs of a row (the group of llama.cpp's Q8_0, which stores its
// scale in float16 instead): s = max |W| over the group / 127, q = round(W / s). In a
// checkpoint, "X.weight" is q (safetensors I8) and "X.weight_scale" is s (F32), the tensor names
// of compressed-tensors; config.json says {"quantization_config": {"quant_method": "sculpt_int8",
// "group_size": 32}}. Every matrix is stored so, the embedding included; vectors stay float.
//
//   std::vector<int8_t> q(rows * cols);
//   std::vector<float> s(rows * int8_scale_columns(cols));
//   quantize_int8(w, rows, cols, q.data(), s.data());
#pragma once

#include <cstdint>

namespace sculpt {

inline constexpr int64_t kInt8GroupSize = 32;
inline constexpr const char* kInt8QuantMethod = "sculpt_int8";
inline constexpr const char* kInt8ScaleSuffix = "_scale";  // "X.weight" -> "X.weight_scale"

// Scales per row: ceil(cols / kInt8GroupSize).
inline int64_t int8_scale_columns(int64_t cols) { return (cols + kInt8GroupSize - 1) / kInt8GroupSize; }

// Quantizes row-major w [rows, cols] into q [rows, cols] and scales [rows, int8_scale_columns(cols)].
// A group of zeros gets scale 0 and zeros; non-finite weights are refused (an Error naming the row).
void quantize_int8(const float* w, int64_t rows, int64_t cols, int8_t* q, float* scales);

}  // namespace sculpt
