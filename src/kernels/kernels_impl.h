// The bodies of the kernels of kernels.h, written once over kernels_simd.h's Vec and compiled
// by kernels_avx512.cpp, kernels_avx2.cpp and kernels_portable.cpp, each of which defines
// SCULPT_KERNEL_TABLE (the name of the function returning its table) and SCULPT_KERNEL_LEVEL.
// Internal linkage throughout, for the reason kernels_simd.h gives.
#pragma once

#include "core/int8_weights.h"
#include "kernels/kernels.h"
#include "kernels/kernels_simd.h"

#include <stdlib.h>

namespace {

// Register tiles, sized to the vector registers: gemm_nt keeps kNtRows x kNtCols dot products
// in flight (plus one vector per row of a and one of w), gemm_nn kNnRows x kNnVecs vectors of c
// (plus the kNnVecs vectors of a row of b and one broadcast).
#if defined(SCULPT_SIMD_AVX512)
constexpr int kNtRows = 4, kNtCols = 6, kNnRows = 6, kNnVecs = 4;  // 24 accumulators of 32 registers
#elif defined(SCULPT_SIMD_AVX2)
constexpr int kNtRows = 3, kNtCols = 4, kNnRows = 4, kNnVecs = 3;  // 12 of 16
#else
constexpr int kNtRows = 2, kNtCols = 4, kNnRows = 4, kNnVecs = 2;  // 8 of 16
#endif

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// How a stored weight matrix is read. W::Matrix holds its storage and row stride (an int8 one
// also its scales, core/int8_weights.h); W::load(w, j, p) returns row j's elements [p, p + kWidth)
// as float32 and load_n the first n of them, zero-filled. Float formats widen exactly; int8
// multiplies by its group's scale, and a vector never straddles two groups: p is always a
// multiple of kWidth, which divides kInt8GroupSize.
template <class T>
struct Stored {
  const T* data;
  int64_t ld;
  const T* row(int64_t j) const { return data + j * ld; }
  Stored rows_from(int64_t j) const { return {row(j), ld}; }
};
struct F32 {
  using Matrix = Stored<float>;
  static Vec load(const Matrix& w, int64_t j, int64_t p) { return vload(w.row(j) + p); }
  static Vec load_n(const Matrix& w, int64_t j, int64_t p, int n) { return vload_n(w.row(j) + p, n); }
};
struct F16 {
  using Matrix = Stored<uint16_t>;
  static Vec load(const Matrix& w, int64_t j, int64_t p) { return vload_f16(w.row(j) + p); }
  static Vec load_n(const Matrix& w, int64_t j, int64_t p, int n) { return vload_f16_n(w.row(j) + p, n); }
};
struct BF16 {
  using Matrix = Stored<uint16_t>;
  static Vec load(const Matrix& w, int64_t j, int64_t p) { return vload_bf16(w.row(j) + p); }
  static Vec load_n(const Matrix& w, int64_t j, int64_t p, int n) { return vload_bf16_n(w.row(j) + p, n); }
};
static_assert(sculpt::kInt8GroupSize % kWidth == 0, "a vector of int8 weights shares one scale");
struct Int8 {
  struct Matrix {
    const int8_t* data;
    const float* scales;
    int64_t ld, ld_scales;
    Matrix rows_from(int64_t j) const { return {data + j * ld, scales + j * ld_scales, ld, ld_scales}; }
  };
  static Vec scale(const Matrix& w, int64_t j, int64_t p) {
    return vset(w.scales[j * w.ld_scales + p / sculpt::kInt8GroupSize]);
  }
  static Vec load(const Matrix& w, int64_t j, int64_t p) { return vmul(vload_i8(w.data + j * w.ld + p), scale(w, j, p)); }
  static Vec load_n(const Matrix& w, int64_t j, int64_t p, int n) {
    return vmul(vload_i8_n(w.data + j * w.ld + p, n), scale(w, j, p));
  }
};

// One RM x RN tile of gemm_nt: RM * RN dot products of length k, summed across lanes at the end.
template <class W, int RM, int RN>
void nt_tile(int64_t k, const float* a, int64_t lda, const typename W::Matrix& w, float* c, int64_t ldc,
             bool accumulate) {
  Vec acc[RM][RN];
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < RN; ++j) acc[i][j] = vzero();
  int64_t p = 0;
  for (; p + kWidth <= k; p += kWidth) {
    Vec av[RM];
    for (int i = 0; i < RM; ++i) av[i] = vload(a + i * lda + p);
    for (int j = 0; j < RN; ++j) {
      const Vec wv = W::load(w, j, p);
      for (int i = 0; i < RM; ++i) acc[i][j] = vfma(av[i], wv, acc[i][j]);
    }
  }
  if (p < k) {  // the tail, zero-filled past k
    const int rest = int(k - p);
    Vec av[RM];
    for (int i = 0; i < RM; ++i) av[i] = vload_n(a + i * lda + p, rest);
    for (int j = 0; j < RN; ++j) {
      const Vec wv = W::load_n(w, j, p, rest);
      for (int i = 0; i < RM; ++i) acc[i][j] = vfma(av[i], wv, acc[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < RN; ++j) {
      float& out = c[i * ldc + j];
      out = (accumulate ? out : 0.0f) + vsum(acc[i][j]);
    }
}

// Rows [0, RM) of c against all n columns: full tiles, then one narrower tile for the rest.
template <class W, int RM>
void nt_rows(int64_t n, int64_t k, const float* a, int64_t lda, const typename W::Matrix& w, float* c,
             int64_t ldc, bool accumulate) {
  int64_t j = 0;
  for (; j + kNtCols <= n; j += kNtCols) nt_tile<W, RM, kNtCols>(k, a, lda, w.rows_from(j), c + j, ldc, accumulate);
  const typename W::Matrix wj = w.rows_from(j);
  float* cj = c + j;
  switch (n - j) {
    case 0: break;
    case 1: nt_tile<W, RM, 1>(k, a, lda, wj, cj, ldc, accumulate); break;
    case 2: nt_tile<W, RM, 2>(k, a, lda, wj, cj, ldc, accumulate); break;
    case 3: nt_tile<W, RM, 3>(k, a, lda, wj, cj, ldc, accumulate); break;
    case 4: nt_tile<W, RM, (kNtCols > 4 ? 4 : 1)>(k, a, lda, wj, cj, ldc, accumulate); break;
    case 5: nt_tile<W, RM, (kNtCols > 5 ? 5 : 1)>(k, a, lda, wj, cj, ldc, accumulate); break;
  }
}

// One row of a against rows of w taken one after another (decoding one token): w is then read
// in a single sequential stream per thread, which the hardware prefetcher follows best; four
// accumulators hide the FMA latency.
template <class W>
void nt_one_row(int64_t n, int64_t k, const float* a, const typename W::Matrix& w, float* c, bool accumulate) {
  for (int64_t j = 0; j < n; ++j) {
    Vec acc0 = vzero(), acc1 = vzero(), acc2 = vzero(), acc3 = vzero();
    int64_t p = 0;
    for (; p + 4 * kWidth <= k; p += 4 * kWidth) {
      acc0 = vfma(vload(a + p), W::load(w, j, p), acc0);
      acc1 = vfma(vload(a + p + kWidth), W::load(w, j, p + kWidth), acc1);
      acc2 = vfma(vload(a + p + 2 * kWidth), W::load(w, j, p + 2 * kWidth), acc2);
      acc3 = vfma(vload(a + p + 3 * kWidth), W::load(w, j, p + 3 * kWidth), acc3);
    }
    for (; p < k; p += kWidth) {
      const int rest = int(min64(kWidth, k - p));
      acc0 = vfma(vload_n(a + p, rest), W::load_n(w, j, p, rest), acc0);
    }
    const float dot = vsum(vadd(vadd(acc0, acc1), vadd(acc2, acc3)));
    c[j] = (accumulate ? c[j] : 0.0f) + dot;
  }
}

// nt_one_row over int8 weights: each group's products are summed unscaled and then scaled once,
// which saves a broadcast and a multiply per vector (a quarter of the instructions on AVX2; the
// same products, rounded in another order). Four groups are in flight at a time, so that their
// chains of dependent FMAs overlap.
template <>
void nt_one_row<Int8>(int64_t n, int64_t k, const float* a, const Int8::Matrix& w, float* c, bool accumulate) {
  constexpr int64_t kGroup = sculpt::kInt8GroupSize;
  constexpr int kVecs = int(kGroup / kWidth);
  for (int64_t j = 0; j < n; ++j) {
    const int8_t* q = w.data + j * w.ld;
    const float* scales = w.scales + j * w.ld_scales;
    Vec acc[4] = {vzero(), vzero(), vzero(), vzero()};
    int64_t p = 0;
    for (; p + 4 * kGroup <= k; p += 4 * kGroup) {
      Vec group[4];
      for (int g = 0; g < 4; ++g) group[g] = vmul(vload(a + p + g * kGroup), vload_i8(q + p + g * kGroup));
      for (int v = 1; v < kVecs; ++v)
        for (int g = 0; g < 4; ++g) {
          const int64_t at = p + g * kGroup + v * kWidth;
          group[g] = vfma(vload(a + at), vload_i8(q + at), group[g]);
        }
      for (int g = 0; g < 4; ++g) acc[g] = vfma(group[g], vset(scales[p / kGroup + g]), acc[g]);
    }
    for (; p < k; p += kGroup) {  // the last groups, the very last one possibly partial
      Vec group = vzero();
      for (int64_t at = p; at < min64(p + kGroup, k); at += kWidth) {
        const int rest = int(min64(kWidth, k - at));
        group = vfma(vload_n(a + at, rest), vload_i8_n(q + at, rest), group);
      }
      acc[0] = vfma(group, vset(scales[p / kGroup]), acc[0]);
    }
    const float dot = vsum(vadd(vadd(acc[0], acc[1]), vadd(acc[2], acc[3])));
    c[j] = (accumulate ? c[j] : 0.0f) + dot;
  }
}

// gemm_nt as dot products: for few rows of a (decoding), where every weight is read once.
template <class W>
void gemm_nt_dots(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const typename W::Matrix& w,
                  float* c, int64_t ldc, bool accumulate) {
  static_assert(kNtCols <= 6 && kNtRows <= 4, "nt_rows and the row switch below cover these tiles");
  if (m == 1) {
    nt_one_row<W>(n, k, a, w, c, accumulate);
    return;
  }
  // Columns in blocks whose rows of w stay in the L2 cache (about 256 KiB) while every row of a
  // passes over them.
  int64_t block = (int64_t(1) << 16) / (k > 0 ? k : 1);
  block = block < kNtCols ? kNtCols : block - block % kNtCols;
  for (int64_t j0 = 0; j0 < n; j0 += block) {
    const int64_t nb = min64(block, n - j0);
    const typename W::Matrix wb = w.rows_from(j0);
    int64_t i = 0;
    for (; i + kNtRows <= m; i += kNtRows)
      nt_rows<W, kNtRows>(nb, k, a + i * lda, lda, wb, c + i * ldc + j0, ldc, accumulate);
    const float* ai = a + i * lda;
    float* ci = c + i * ldc + j0;
    switch (m - i) {  // a narrower tile type than the remainder (the "? : 1" arms) never runs
      case 0: break;
      case 1: nt_rows<W, 1>(nb, k, ai, lda, wb, ci, ldc, accumulate); break;
      case 2: nt_rows<W, (kNtRows > 2 ? 2 : 1)>(nb, k, ai, lda, wb, ci, ldc, accumulate); break;
      case 3: nt_rows<W, (kNtRows > 3 ? 3 : 1)>(nb, k, ai, lda, wb, ci, ldc, accumulate); break;
    }
  }
}

// One RM x (NV vectors) tile of gemm_nn: for each p, a row of b times a broadcast of a[i, p].
// `cols` (<= NV * kWidth) are the columns that exist; only the last vector may be partial.
template <int RM, int NV>
void nn_tile(int64_t k, int cols, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  const int last = cols - (NV - 1) * kWidth;  // columns in the last vector, 1..kWidth
  Vec acc[RM][NV];
  for (int i = 0; i < RM; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vzero();
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    Vec bv[NV];
    for (int v = 0; v + 1 < NV; ++v) bv[v] = vload(bp + v * kWidth);
    bv[NV - 1] = last == kWidth ? vload(bp + (NV - 1) * kWidth) : vload_n(bp + (NV - 1) * kWidth, last);
    for (int i = 0; i < RM; ++i) {
      const Vec ai = vset(a[i * lda + p]);
      for (int v = 0; v < NV; ++v) acc[i][v] = vfma(ai, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < RM; ++i)
    for (int v = 0; v < NV; ++v) {
      float* out = c + i * ldc + v * kWidth;
      const int n_out = v + 1 < NV ? kWidth : last;
      Vec r = acc[i][v];
      if (accumulate) r = vadd(r, n_out == kWidth ? vload(out) : vload_n(out, n_out));
      if (n_out == kWidth) vstore(out, r);
      else vstore_n(out, r, n_out);
    }
}

template <int RM>
void nn_rows(int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  constexpr int64_t kTile = int64_t(kNnVecs) * kWidth;
  int64_t j = 0;
  for (; j + kTile <= n; j += kTile) nn_tile<RM, kNnVecs>(k, int(kTile), a, lda, b + j, ldb, c + j, ldc, accumulate);
  for (; j < n; j += kWidth)  // the rest, one vector at a time
    nn_tile<RM, 1>(k, int(min64(kWidth, n - j)), a, lda, b + j, ldb, c + j, ldc, accumulate);
}

void gemm_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
             int64_t ldc, bool accumulate) {
  static_assert(kNnRows <= 6, "the row switch below covers these tiles");
  int64_t i = 0;
  for (; i + kNnRows <= m; i += kNnRows) nn_rows<kNnRows>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
  const float* ai = a + i * lda;
  float* ci = c + i * ldc;
  switch (m - i) {
    case 0: break;
    case 1: nn_rows<1>(n, k, ai, lda, b, ldb, ci, ldc, accumulate); break;
    case 2: nn_rows<2>(n, k, ai, lda, b, ldb, ci, ldc, accumulate); break;
    case 3: nn_rows<3>(n, k, ai, lda, b, ldb, ci, ldc, accumulate); break;
    case 4: nn_rows<(kNnRows > 4 ? 4 : 1)>(n, k, ai, lda, b, ldb, ci, ldc, accumulate); break;
    case 5: nn_rows<(kNnRows > 5 ? 5 : 1)>(n, k, ai, lda, b, ldb, ci, ldc, accumulate); break;
  }
}

// From this many rows of a on, gemm_nt transposes panels of w and runs gemm_nn over them: the
// outer-product tiles need no sums across lanes, and packing a panel costs one pass over it
// while every row of a reuses it.
constexpr int64_t kPackFromRows = 16;
constexpr int64_t kPanelCols = int64_t(kNnVecs) * kWidth;  // one gemm_nn tile wide

// A growing per-thread buffer for the panels (never shrunk: a decoder calls with the same sizes),
// freed when its thread ends.
struct PanelBuffer {
  float* data = nullptr;
  int64_t size = 0;
  ~PanelBuffer() { free(data); }
};

float* panel_buffer(int64_t n_floats) {
  static thread_local PanelBuffer buffer;
  if (n_floats > buffer.size) {
    free(buffer.data);
    buffer.data = static_cast<float*>(aligned_alloc(64, size_t((n_floats * 4 + 63) / 64 * 64)));
    buffer.size = buffer.data != nullptr ? n_floats : 0;
  }
  return buffer.data;
}

template <class W>
void gemm_nt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const typename W::Matrix& w, float* c,
             int64_t ldc, bool accumulate) {
  float* panel = m >= kPackFromRows ? panel_buffer(k * kPanelCols) : nullptr;
  if (panel == nullptr) {
    gemm_nt_dots<W>(m, n, k, a, lda, w, c, ldc, accumulate);
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kPanelCols) {
    const int64_t cols = min64(kPanelCols, n - j0);
    // panel [k, kPanelCols] = w[j0 : j0 + cols, :]^T in float32, read row by row of w.
    for (int64_t j = 0; j < cols; ++j) {
      float row[kWidth];
      for (int64_t p = 0; p < k; p += kWidth) {
        const int rest = int(min64(kWidth, k - p));
        vstore(row, rest == kWidth ? W::load(w, j0 + j, p) : W::load_n(w, j0 + j, p, rest));
        for (int l = 0; l < rest; ++l) panel[(p + l) * kPanelCols + j] = row[l];
      }
    }
    gemm_nn(m, cols, k, a, lda, panel, kPanelCols, c + j0, ldc, accumulate);
  }
}

void rms_norm(int64_t n, const float* x, const float* weight, float eps, float* out) {
  Vec sq = vzero();
  int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const Vec v = vload(x + i);
    sq = vfma(v, v, sq);
  }
  float sum = vsum(sq);
  for (; i < n; ++i) sum += x[i] * x[i];
  const float scale = 1.0f / __builtin_sqrtf(sum / float(n) + eps);
  i = 0;
  for (; i + kWidth <= n; i += kWidth) vstore(out + i, vmul(vmul(vload(x + i), vset(scale)), vload(weight + i)));
  for (; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void softmax(int64_t n, float* x) {
  if (n <= 0) return;
  Vec mv = vset(x[0]);
  int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) mv = vmax(mv, vload(x + i));
  float max = vhmax(mv);
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  const Vec vmax_x = vset(max);
  Vec sv = vzero();
  i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const Vec e = vexp(vsub(vload(x + i), vmax_x));
    vstore(x + i, e);
    sv = vadd(sv, e);
  }
  float sum = vsum(sv);
  if (i < n) {
    const int rest = int(n - i);
    const Vec e = vexp(vsub(vload_n(x + i, rest), vmax_x));
    vstore_n(x + i, e, rest);
    for (int l = 0; l < rest; ++l) sum += x[i + l];
  }
  const Vec inv = vset(1.0f / sum);
  i = 0;
  for (; i + kWidth <= n; i += kWidth) vstore(x + i, vmul(vload(x + i), inv));
  for (; i < n; ++i) x[i] *= 1.0f / sum;
}

void silu_mul(int64_t n, const float* gate, const float* up, float* out) {
  int64_t i = 0;
  for (; i < n; i += kWidth) {
    const int rest = int(min64(kWidth, n - i));
    const Vec g = rest == kWidth ? vload(gate + i) : vload_n(gate + i, rest);
    const Vec u = rest == kWidth ? vload(up + i) : vload_n(up + i, rest);
    const Vec s = vdiv(g, vadd(vset(1.0f), vexp(vsub(vzero(), g))));
    if (rest == kWidth) vstore(out + i, vmul(s, u));
    else vstore_n(out + i, vmul(s, u), rest);
  }
}

void exp_all(int64_t n, const float* x, float* out) {
  for (int64_t i = 0; i < n; i += kWidth) {
    const int rest = int(min64(kWidth, n - i));
    if (rest == kWidth) vstore(out + i, vexp(vload(x + i)));
    else vstore_n(out + i, vexp(vload_n(x + i, rest)), rest);
  }
}

// Row 0 of w, n elements, as float32.
template <class W>
void widen_row(int64_t n, const typename W::Matrix& w, float* out) {
  for (int64_t i = 0; i < n; i += kWidth) {
    const int rest = int(min64(kWidth, n - i));
    if (rest == kWidth) vstore(out + i, W::load(w, 0, i));
    else vstore_n(out + i, W::load_n(w, 0, i, rest), rest);
  }
}

// The table's entries: each format's matrix from its pointers and strides.
void gemm_nt_f32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, float* c,
                 int64_t ldc, bool accumulate) {
  gemm_nt<F32>(m, n, k, a, lda, {w, ldw}, c, ldc, accumulate);
}
template <class W>
void gemm_nt_16(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const uint16_t* w, int64_t ldw, float* c,
                int64_t ldc, bool accumulate) {
  gemm_nt<W>(m, n, k, a, lda, {w, ldw}, c, ldc, accumulate);
}
void gemm_nt_int8(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const int8_t* w, int64_t ldw,
                  const float* scales, int64_t ld_scales, float* c, int64_t ldc, bool accumulate) {
  gemm_nt<Int8>(m, n, k, a, lda, {w, scales, ldw, ld_scales}, c, ldc, accumulate);
}
template <class W>
void widen_16(int64_t n, const uint16_t* src, float* out) {
  widen_row<W>(n, {src, n}, out);
}
void widen_int8(int64_t n, const int8_t* src, const float* scales, float* out) {
  widen_row<Int8>(n, {src, scales, n, sculpt::int8_scale_columns(n)}, out);
}

}  // namespace

namespace sculpt {

const KernelTable& SCULPT_KERNEL_TABLE() {
  static const KernelTable table{SCULPT_KERNEL_LEVEL, gemm_nt_f32, gemm_nt_16<F16>, gemm_nt_16<BF16>, gemm_nt_int8,
                                 gemm_nn, rms_norm, softmax, silu_mul, exp_all, widen_16<F16>, widen_16<BF16>,
                                 widen_int8};
  return table;
}

}  // namespace sculpt
