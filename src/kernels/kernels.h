// The float32 CPU kernels of Sculpt's fast forward pass (core/fast_decoder.h), each built three
// times: for AVX-512, for AVX2 with FMA, and portably, and chosen at run time (cpu_features.h).
// Matrices are row-major with a leading dimension (the distance between rows, in floats), so a
// head's slice of a wider matrix needs no copy.
//
//   const KernelTable& k = kernel_table();
//   k.gemm_nt(m, n, k_dim, x, k_dim, weight, k_dim, y, n, /*accumulate=*/false);  // y = x W^T
//   linear(m, n, k_dim, x, weight, y, /*accumulate=*/true);                        // y += x W^T, all threads
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace sculpt {

struct KernelTable {
  CpuLevel level;
  // c[i, j] (+)= sum_p a[i, p] * w[j, p] for i < m, j < n, p < k: a linear layer's product with its
  // weight as stored ([out, in], "NT"). Dot products along k, so no operand is repacked.
  void (*gemm_nt)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw,
                  float* c, int64_t ldc, bool accumulate);
  // gemm_nt with w stored in IEEE float16 or in bfloat16 (raw bits), widened exactly as it is read:
  // the same products as widening the whole matrix first, from half the memory traffic.
  void (*gemm_nt_f16)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const uint16_t* w, int64_t ldw,
                      float* c, int64_t ldc, bool accumulate);
  void (*gemm_nt_bf16)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const uint16_t* w, int64_t ldw,
                       float* c, int64_t ldc, bool accumulate);
  // gemm_nt with w in Sculpt's int8 format (core/int8_weights.h): w[j, p] * scales[j, p / 32],
  // ld_scales floats between rows of scales; dequantized as it is read, from a quarter of
  // float32's memory traffic.
  void (*gemm_nt_int8)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const int8_t* w, int64_t ldw,
                       const float* scales, int64_t ld_scales, float* c, int64_t ldc, bool accumulate);
  // c[i, j] (+)= sum_p a[i, p] * b[p, j] ("NN"): attention's q K^T against keys stored transposed,
  // and its probabilities times the values.
  void (*gemm_nn)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  float* c, int64_t ldc, bool accumulate);
  // out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], i < n (Zhang & Sennrich 2019). out may be x.
  void (*rms_norm)(int64_t n, const float* x, const float* weight, float eps, float* out);
  // x[i] = exp(x[i] - max x) / sum_j exp(x[j] - max x), in place; -infinity gives 0.
  void (*softmax)(int64_t n, float* x);
  // out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] (SwiGLU, Shazeer 2020).
  void (*silu_mul)(int64_t n, const float* gate, const float* up, float* out);
  // out[i] = exp(x[i]) within about 2 float32 ulp for x in [-87, 88]; 0 below, exp(88) above.
  void (*exp)(int64_t n, const float* x, float* out);
  // out[i] = src[i] widened exactly from float16 / bfloat16 bits to float32.
  void (*widen_f16)(int64_t n, const uint16_t* src, float* out);
  void (*widen_bf16)(int64_t n, const uint16_t* src, float* out);
  // out[i] = src[i] * scales[i / 32]: one row of an int8 matrix.
  void (*widen_int8)(int64_t n, const int8_t* src, const float* scales, float* out);
};

// The kernels of `level`, which must not exceed detected_cpu_level() (an Error otherwise).
const KernelTable& kernel_table(CpuLevel level);
// The kernels of cpu_level().
const KernelTable& kernel_table();

// What a weight matrix is stored in.
enum class WeightType { kF32, kF16, kBF16, kInt8 };
const char* weight_type_name(WeightType type);

// A weight matrix [rows, cols] as stored: its elements, contiguous rows, and for WeightType::kInt8
// its float32 scales [rows, ceil(cols / 32)] (null for the float types).
struct WeightMatrix {
  const void* data = nullptr;
  const float* scales = nullptr;
};

// c [m, n] (+)= a [m, k] w^T for w [n, k] of `type`: gemm_nt* of kernel_table(), the output
// columns split between the threads of compute_pool() (thread_pool.h).
void linear(int64_t m, int64_t n, int64_t k, const float* a, WeightMatrix w, WeightType type, float* c, bool accumulate);
inline void linear(int64_t m, int64_t n, int64_t k, const float* a, const float* w, float* c, bool accumulate) {
  linear(m, n, k, a, WeightMatrix{w, nullptr}, WeightType::kF32, c, accumulate);
}

// out [cols] = row `row` of w [rows, cols] of `type` as float32 (an embedding row, say).
void widen_row(int64_t cols, WeightMatrix w, WeightType type, int64_t row, float* out);

}  // namespace sculpt
