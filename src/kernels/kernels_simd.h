// The vector type and operations the kernels are written in, for the instruction set of the
// translation unit that includes this header: AVX-512 when compiled with -mavx512f, AVX2 with
// -mavx2 -mfma, otherwise four floats in plain C++ (which the compiler maps to SSE2).
// Everything here has internal linkage: the three builds of kernels_impl.h must not share an
// inline function, or the linker could hand the portable build an AVX-512 copy.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#define SCULPT_SIMD_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SCULPT_SIMD_AVX2 1
#endif

namespace {

#if defined(SCULPT_SIMD_AVX512)

constexpr int kWidth = 16;
struct Vec { __m512 r; };
inline __mmask16 first_n(int n) { return __mmask16((1u << n) - 1u); }
inline Vec vzero() { return {_mm512_setzero_ps()}; }
inline Vec vset(float x) { return {_mm512_set1_ps(x)}; }
inline Vec vload(const float* p) { return {_mm512_loadu_ps(p)}; }
inline Vec vload_n(const float* p, int n) { return {_mm512_maskz_loadu_ps(first_n(n), p)}; }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v.r); }
inline void vstore_n(float* p, Vec v, int n) { _mm512_mask_storeu_ps(p, first_n(n), v.r); }
inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.r, b.r, c.r)}; }
inline Vec vadd(Vec a, Vec b) { return {_mm512_add_ps(a.r, b.r)}; }
inline Vec vsub(Vec a, Vec b) { return {_mm512_sub_ps(a.r, b.r)}; }
inline Vec vmul(Vec a, Vec b) { return {_mm512_mul_ps(a.r, b.r)}; }
inline Vec vdiv(Vec a, Vec b) { return {_mm512_div_ps(a.r, b.r)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm512_max_ps(a.r, b.r)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm512_min_ps(a.r, b.r)}; }
inline Vec vround(Vec a) { return {_mm512_roundscale_ps(a.r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
// 2^n for whole numbers n in [-126, 127], built in the exponent field.
inline Vec vpow2(Vec n) {
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n.r), _mm512_set1_epi32(127)), 23);
  return {_mm512_castsi512_ps(e)};
}
// Halves by zero-masked extracts: GCC 12's _mm512_reduce_* warn about their undefined halves.
// float16 and bfloat16 widened exactly to float32 as they are loaded.
inline Vec vload_f16(const uint16_t* p) { return {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))}; }
inline Vec vload_f16_n(const uint16_t* p, int n) { return {_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_n(n), p))}; }
inline Vec bf16_bits(__m256i h) { return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))}; }
inline Vec vload_bf16(const uint16_t* p) { return bf16_bits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline Vec vload_bf16_n(const uint16_t* p, int n) { return bf16_bits(_mm256_maskz_loadu_epi16(first_n(n), p)); }
// int8 widened to float32 (exact).
inline Vec vload_i8(const int8_t* p) {
  return {_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))))};
}
inline Vec vload_i8_n(const int8_t* p, int n) { return {_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(first_n(n), p)))}; }
inline float vsum(Vec v) {
  const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v.r, 0), _mm512_maskz_extractf32x8_ps(0xFF, v.r, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
inline float vhmax(Vec v) {
  const __m256 h = _mm256_max_ps(_mm512_maskz_extractf32x8_ps(0xFF, v.r, 0), _mm512_maskz_extractf32x8_ps(0xFF, v.r, 1));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

#elif defined(SCULPT_SIMD_AVX2)

constexpr int kWidth = 8;
struct Vec { __m256 r; };
inline __m256i first_n(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline Vec vzero() { return {_mm256_setzero_ps()}; }
inline Vec vset(float x) { return {_mm256_set1_ps(x)}; }
inline Vec vload(const float* p) { return {_mm256_loadu_ps(p)}; }
inline Vec vload_n(const float* p, int n) { return {_mm256_maskload_ps(p, first_n(n))}; }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v.r); }
inline void vstore_n(float* p, Vec v, int n) { _mm256_maskstore_ps(p, first_n(n), v.r); }
inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.r, b.r, c.r)}; }
inline Vec vadd(Vec a, Vec b) { return {_mm256_add_ps(a.r, b.r)}; }
inline Vec vsub(Vec a, Vec b) { return {_mm256_sub_ps(a.r, b.r)}; }
inline Vec vmul(Vec a, Vec b) { return {_mm256_mul_ps(a.r, b.r)}; }
inline Vec vdiv(Vec a, Vec b) { return {_mm256_div_ps(a.r, b.r)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm256_max_ps(a.r, b.r)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm256_min_ps(a.r, b.r)}; }
inline Vec vround(Vec a) { return {_mm256_round_ps(a.r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline Vec vpow2(Vec n) {
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n.r), _mm256_set1_epi32(127)), 23);
  return {_mm256_castsi256_ps(e)};
}
inline __m128i load_u16x8_n(const uint16_t* p, int n) {  // zero-filled past n
  uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) tmp[i] = p[i];
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp));
}
inline Vec vload_f16(const uint16_t* p) { return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
inline Vec vload_f16_n(const uint16_t* p, int n) { return {_mm256_cvtph_ps(load_u16x8_n(p, n))}; }
inline Vec bf16_bits(__m128i h) { return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))}; }
inline Vec vload_bf16(const uint16_t* p) { return bf16_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline Vec vload_bf16_n(const uint16_t* p, int n) { return bf16_bits(load_u16x8_n(p, n)); }
inline Vec i8_values(__m128i b) { return {_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b))}; }
inline Vec vload_i8(const int8_t* p) { return i8_values(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline Vec vload_i8_n(const int8_t* p, int n) {  // zero-filled past n
  int8_t tmp[16] = {};
  std::memcpy(tmp, p, size_t(n));
  return i8_values(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp)));
}
inline float vsum(Vec v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v.r), _mm256_extractf128_ps(v.r, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float vhmax(Vec v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v.r), _mm256_extractf128_ps(v.r, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#else  // portable

constexpr int kWidth = 4;
struct Vec { float r[4]; };
#define SCULPT_LANES(expr) \
  Vec out;                 \
  for (int l = 0; l < 4; ++l) out.r[l] = (expr); \
  return out
inline Vec vzero() { SCULPT_LANES(0.0f); }
inline Vec vset(float x) { SCULPT_LANES(x); }
inline Vec vload(const float* p) { SCULPT_LANES(p[l]); }
inline Vec vload_n(const float* p, int n) { SCULPT_LANES(l < n ? p[l] : 0.0f); }
inline void vstore(float* p, Vec v) { for (int l = 0; l < 4; ++l) p[l] = v.r[l]; }
inline void vstore_n(float* p, Vec v, int n) { for (int l = 0; l < n; ++l) p[l] = v.r[l]; }
inline Vec vfma(Vec a, Vec b, Vec c) { SCULPT_LANES(a.r[l] * b.r[l] + c.r[l]); }
inline Vec vadd(Vec a, Vec b) { SCULPT_LANES(a.r[l] + b.r[l]); }
inline Vec vsub(Vec a, Vec b) { SCULPT_LANES(a.r[l] - b.r[l]); }
inline Vec vmul(Vec a, Vec b) { SCULPT_LANES(a.r[l] * b.r[l]); }
inline Vec vdiv(Vec a, Vec b) { SCULPT_LANES(a.r[l] / b.r[l]); }
inline Vec vmax(Vec a, Vec b) { SCULPT_LANES(a.r[l] > b.r[l] ? a.r[l] : b.r[l]); }
inline Vec vmin(Vec a, Vec b) { SCULPT_LANES(a.r[l] < b.r[l] ? a.r[l] : b.r[l]); }
inline Vec vround(Vec a) { SCULPT_LANES(__builtin_rintf(a.r[l])); }
inline Vec vpow2(Vec n) {
  Vec out;
  for (int l = 0; l < 4; ++l) {
    const uint32_t bits = uint32_t(int32_t(n.r[l]) + 127) << 23;
    std::memcpy(&out.r[l], &bits, sizeof bits);
  }
  return out;
}
// IEEE half to float, exactly: normal numbers rebias the exponent, subnormals are scaled by
// 2^-24, infinities and NaNs keep an all-ones exponent.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  float magnitude;
  if (exponent == 0) {
    magnitude = float(mantissa) * (1.0f / 16777216.0f);
  } else {
    const uint32_t bits = exponent == 31 ? (0xFFu << 23) | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13);
    std::memcpy(&magnitude, &bits, sizeof bits);
  }
  uint32_t out;
  std::memcpy(&out, &magnitude, sizeof out);
  out |= sign;
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}
inline float bfloat_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline Vec vload_f16(const uint16_t* p) { SCULPT_LANES(half_to_float(p[l])); }
inline Vec vload_f16_n(const uint16_t* p, int n) { SCULPT_LANES(l < n ? half_to_float(p[l]) : 0.0f); }
inline Vec vload_bf16(const uint16_t* p) { SCULPT_LANES(bfloat_to_float(p[l])); }
inline Vec vload_bf16_n(const uint16_t* p, int n) { SCULPT_LANES(l < n ? bfloat_to_float(p[l]) : 0.0f); }
inline Vec vload_i8(const int8_t* p) { SCULPT_LANES(float(p[l])); }
inline Vec vload_i8_n(const int8_t* p, int n) { SCULPT_LANES(l < n ? float(p[l]) : 0.0f); }
#undef SCULPT_LANES
inline float vsum(Vec v) { return (v.r[0] + v.r[1]) + (v.r[2] + v.r[3]); }
inline float vhmax(Vec v) {
  const float a = v.r[0] > v.r[1] ? v.r[0] : v.r[1], b = v.r[2] > v.r[3] ? v.r[2] : v.r[3];
  return a > b ? a : b;
}

#endif

// exp(x) as 2^n * e^r with n = round(x / ln 2) and |r| <= ln 2 / 2: ln 2 in two parts keeps r
// exact, and e^r is Cephes' degree-7 expf polynomial. x is clamped to [-87, 88] first, so
// -infinity gives about 1.6e-38 and the masked scores of a softmax vanish.
inline Vec vexp(Vec x) {
  x = vmin(vmax(x, vset(-87.0f)), vset(88.0f));
  const Vec n = vround(vmul(x, vset(1.44269504088896341f)));
  Vec r = vfma(n, vset(-0.693359375f), x);
  r = vfma(n, vset(2.12194440e-4f), r);
  Vec p = vset(1.9875691500e-4f);
  p = vfma(p, r, vset(1.3981999507e-3f));
  p = vfma(p, r, vset(8.3334519073e-3f));
  p = vfma(p, r, vset(4.1665795894e-2f));
  p = vfma(p, r, vset(1.6666665459e-1f));
  p = vfma(p, r, vset(5.0000001201e-1f));
  const Vec y = vadd(vfma(vmul(p, r), r, r), vset(1.0f));
  return vmul(y, vpow2(n));
}

}  // namespace
