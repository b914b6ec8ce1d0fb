// Every build of the CPU kernels this machine can run (portable, AVX2, AVX-512) against plain
// double-precision loops written from the definitions, at awkward sizes: one row, odd rows,
// lengths that are not a multiple of any vector width, padded leading dimensions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <algorithm>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/thread_pool.h"

namespace sculpt {
namespace {

std::vector<CpuLevel> levels_here() {
  std::vector<CpuLevel> out;
  for (CpuLevel l : {CpuLevel::kPortable, CpuLevel::kAvx2, CpuLevel::kAvx512})
    if (l <= detected_cpu_level()) out.push_back(l);
  return out;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct GemmShape { int64_t m, n, k; };
const GemmShape kShapes[] = {{1, 1, 1}, {1, 7, 33}, {3, 13, 17}, {5, 37, 100}, {9, 6, 16},
                             {17, 50, 257}, {4, 6, 64}, {1, 4096, 256}, {1, 3, 200}, {64, 129, 768}, {2, 3, 2049}};

// gemm_nt and gemm_nn against double sums, with leading dimensions wider than the rows and
// with accumulation into values already in c. The bound is relative to sum |a||b| per entry.
void check_gemm(const KernelTable& kt, bool nt) {
  std::mt19937 rng(7);
  for (const GemmShape& s : kShapes) {
    for (bool accumulate : {false, true}) {
      const int64_t lda = s.k + 3, ldc = s.n + 5;
      const int64_t ldb = nt ? s.k + 1 : s.n + 2;             // w [n, k] or b [k, n]
      const std::vector<float> a = random_floats(size_t(s.m * lda), rng);
      const std::vector<float> b = random_floats(size_t((nt ? s.n : s.k) * ldb), rng);
      std::vector<float> c = random_floats(size_t(s.m * ldc), rng);
      const std::vector<float> c0 = c;
      (nt ? kt.gemm_nt : kt.gemm_nn)(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
      double max_diff = 0;
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          double sum = accumulate ? c0[size_t(i * ldc + j)] : 0.0, bound = std::fabs(sum);
          for (int64_t p = 0; p < s.k; ++p) {
            const double bv = nt ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)];
            sum += double(a[size_t(i * lda + p)]) * bv;
            bound += std::fabs(double(a[size_t(i * lda + p)]) * bv);
          }
          const double diff = std::fabs(sum - c[size_t(i * ldc + j)]);
          max_diff = std::max(max_diff, diff);
          ASSERT_LE(diff, 1e-6 * bound + 1e-7) << cpu_level_name(kt.level) << (nt ? " gemm_nt " : " gemm_nn ") << s.m
                                               << "x" << s.n << "x" << s.k << " at " << i << "," << j;
        }
      // Padding between rows is never written.
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = s.n; j < ldc; ++j) ASSERT_EQ(c[size_t(i * ldc + j)], c0[size_t(i * ldc + j)]);
      std::printf("%s %s %lldx%lldx%lld accumulate=%d: max difference %.3g\n", cpu_level_name(kt.level),
                  nt ? "gemm_nt" : "gemm_nn", (long long)s.m, (long long)s.n, (long long)s.k, int(accumulate), max_diff);
    }
  }
}

TEST(KernelsTest, GemmNtMatchesTheDefinitionAtEveryLevel) {
  for (CpuLevel l : levels_here()) check_gemm(kernel_table(l), /*nt=*/true);
}

TEST(KernelsTest, GemmNnMatchesTheDefinitionAtEveryLevel) {
  for (CpuLevel l : levels_here()) check_gemm(kernel_table(l), /*nt=*/false);
}

// IEEE 754 binary16 from its definition: (-1)^s 2^(e - 15) (1 + m / 1024), subnormals
// 2^-14 (m / 1024), e = 31 infinity or NaN.
double half_value(uint16_t h) {
  const int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  const double magnitude = e == 0 ? std::ldexp(m / 1024.0, -14)
                           : e == 31 ? (m == 0 ? std::numeric_limits<double>::infinity() : std::nan(""))
                                     : std::ldexp(1.0 + m / 1024.0, e - 15);
  return sign ? -magnitude : magnitude;
}

// bfloat16 is the upper half of a float32's bits.
double bfloat_value(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

TEST(KernelsTest, WideningIsExactForEveryHalfAndBfloatPattern) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  for (CpuLevel l : levels_here()) {
    std::vector<float> out(all.size());
    kernel_table(l).widen_f16(int64_t(all.size()), all.data(), out.data());
    for (size_t i = 0; i < all.size(); ++i) {
      const double want = half_value(all[i]);
      if (std::isnan(want)) ASSERT_TRUE(std::isnan(out[i])) << cpu_level_name(l) << " f16 " << i;
      else ASSERT_EQ(double(out[i]), want) << cpu_level_name(l) << " f16 " << i;
    }
    kernel_table(l).widen_bf16(int64_t(all.size()), all.data(), out.data());
    for (size_t i = 0; i < all.size(); ++i) {
      const double want = bfloat_value(all[i]);
      if (std::isnan(want)) ASSERT_TRUE(std::isnan(out[i])) << cpu_level_name(l) << " bf16 " << i;
      else ASSERT_EQ(double(out[i]), want) << cpu_level_name(l) << " bf16 " << i;
    }
  }
}

// gemm_nt over float16 and bfloat16 weights against double sums of the weights' exact values,
// on both of its paths (dot products below 16 rows, packed panels from 16).
TEST(KernelsTest, GemmNtOverHalfAndBfloatWeightsMatchesTheDefinition) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> bit(0, 1), mantissa(0, 1023), exponent(8, 17);
  for (CpuLevel l : levels_here())
    for (bool bf16 : {false, true})
      for (const GemmShape& s : kShapes) {
        const int64_t ldw = s.k + 2;
        const std::vector<float> a = random_floats(size_t(s.m * s.k), rng);
        std::vector<uint16_t> w(size_t(s.n * ldw));
        for (uint16_t& x : w) {
          if (bf16) {  // a random float, truncated to its upper half
            const float f = std::normal_distribution<float>(0, 1)(rng);
            uint32_t bits;
            std::memcpy(&bits, &f, sizeof bits);
            x = uint16_t(bits >> 16);
          } else {  // finite halves around 1
            x = uint16_t(bit(rng) << 15 | exponent(rng) << 10 | mantissa(rng));
          }
        }
        std::vector<float> c(size_t(s.m * s.n), 0.5f);
        (bf16 ? kernel_table(l).gemm_nt_bf16 : kernel_table(l).gemm_nt_f16)(s.m, s.n, s.k, a.data(), s.k, w.data(), ldw,
                                                                           c.data(), s.n, /*accumulate=*/true);
        double max_diff = 0;
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) {
            double sum = 0.5, bound = 0.5;
            for (int64_t p = 0; p < s.k; ++p) {
              const uint16_t h = w[size_t(j * ldw + p)];
              const double term = double(a[size_t(i * s.k + p)]) * (bf16 ? bfloat_value(h) : half_value(h));
              sum += term;
              bound += std::fabs(term);
            }
            const double diff = std::fabs(sum - c[size_t(i * s.n + j)]);
            max_diff = std::max(max_diff, diff);
            ASSERT_LE(diff, 1e-6 * bound + 1e-7) << cpu_level_name(l) << (bf16 ? " bf16 " : " f16 ") << s.m << "x" << s.n
                                                 << "x" << s.k;
          }
        std::printf("%s gemm_nt_%s %lldx%lldx%lld: max difference %.3g\n", cpu_level_name(l), bf16 ? "bf16" : "f16",
                    (long long)s.m, (long long)s.n, (long long)s.k, max_diff);
      }
}

TEST(KernelsTest, RmsNormMatchesTheDefinition) {
  std::mt19937 rng(3);
  for (CpuLevel l : levels_here())
    for (int64_t n : {1, 5, 16, 31, 64, 256, 769}) {
      const std::vector<float> x = random_floats(size_t(n), rng, 3.0f), w = random_floats(size_t(n), rng);
      std::vector<float> out(static_cast<size_t>(n));
      kernel_table(l).rms_norm(n, x.data(), w.data(), 1e-5f, out.data());
      double ms = 0;
      for (float v : x) ms += double(v) * v;
      const double scale = 1.0 / std::sqrt(ms / double(n) + 1e-5);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(out[size_t(i)], x[size_t(i)] * scale * w[size_t(i)], 2e-6 * std::fabs(x[size_t(i)] * scale * w[size_t(i)]) + 1e-7)
            << cpu_level_name(l) << " n=" << n;
      kernel_table(l).rms_norm(n, x.data(), w.data(), 1e-5f, const_cast<float*>(x.data()));  // in place
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(x[size_t(i)], out[size_t(i)]);
    }
}

TEST(KernelsTest, ExpIsWithinTwoUlpOverTheFloatRange) {
  std::vector<float> x;
  for (float v = -87.0f; v <= 88.0f; v += 0.0137f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1.0f, -1.0f, 1e-8f, -1e-8f}) x.push_back(v);
  for (CpuLevel l : levels_here()) {
    std::vector<float> out(x.size());
    kernel_table(l).exp(int64_t(x.size()), x.data(), out.data());
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = std::exp(double(x[i]));
      worst = std::max(worst, std::fabs(out[i] - want) / want);
    }
    std::printf("%s exp: max relative error %.3g over %zu points\n", cpu_level_name(l), worst, x.size());
    EXPECT_LE(worst, 2.5e-7) << cpu_level_name(l);
    // Far below the range: (almost) nothing; -infinity included, as masked scores are.
    const float low[3] = {-100.0f, -std::numeric_limits<float>::infinity(), -1e30f};
    float low_out[3];
    kernel_table(l).exp(3, low, low_out);
    for (float v : low_out) EXPECT_LT(v, 1e-37f);
  }
}

TEST(KernelsTest, SoftmaxMatchesTheDefinitionAndZeroesMaskedScores) {
  std::mt19937 rng(5);
  for (CpuLevel l : levels_here())
    for (int64_t n : {1, 3, 16, 17, 100, 2048}) {
      std::vector<float> x = random_floats(size_t(n), rng, 4.0f);
      if (n > 2) x[1] = -std::numeric_limits<float>::infinity();
      const std::vector<float> in = x;
      kernel_table(l).softmax(n, x.data());
      double max = -1e300, sum = 0;
      for (float v : in) max = std::max(max, double(v));
      for (float v : in) sum += std::exp(double(v) - max);
      for (int64_t i = 0; i < n; ++i) {
        // float32 rounding of x - max costs relative accuracy in the smallest probabilities
      const double want = std::exp(double(in[size_t(i)]) - max) / sum;
        ASSERT_NEAR(x[size_t(i)], want, 4e-6 * want + 1e-12) << cpu_level_name(l) << " n=" << n << " i=" << i;
      }
    }
}

TEST(KernelsTest, SiluMulMatchesTheDefinition) {
  std::mt19937 rng(9);
  for (CpuLevel l : levels_here())
    for (int64_t n : {1, 7, 16, 33, 704}) {
      const std::vector<float> g = random_floats(size_t(n), rng, 5.0f), u = random_floats(size_t(n), rng);
      std::vector<float> out(static_cast<size_t>(n));
      kernel_table(l).silu_mul(n, g.data(), u.data(), out.data());
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[size_t(i)], want = gi / (1.0 + std::exp(-gi)) * u[size_t(i)];
        ASSERT_NEAR(out[size_t(i)], want, 1e-6 * std::fabs(want) + 1e-7) << cpu_level_name(l) << " n=" << n;
      }
    }
}

// gemm_nt over int8 weights and their scales (core/int8_weights.h) against double sums of
// q * scale, on both paths, with padded leading dimensions of w and of the scales, and k not a
// multiple of the group (a partial last group).
TEST(KernelsTest, GemmNtOverInt8WeightsMatchesTheDefinition) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> value(-127, 127);
  for (CpuLevel l : levels_here())
    for (const GemmShape& s : kShapes) {
      const int64_t ldw = s.k + 5, groups = (s.k + 31) / 32, ld_scales = groups + 1;
      const std::vector<float> a = random_floats(size_t(s.m * s.k), rng);
      std::vector<int8_t> w(size_t(s.n * ldw));
      for (int8_t& x : w) x = int8_t(value(rng));
      std::vector<float> scales = random_floats(size_t(s.n * ld_scales), rng, 0.01f);
      std::vector<float> c(size_t(s.m * s.n), 0.5f);
      kernel_table(l).gemm_nt_int8(s.m, s.n, s.k, a.data(), s.k, w.data(), ldw, scales.data(), ld_scales, c.data(), s.n,
                                   /*accumulate=*/true);
      double max_diff = 0;
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          double sum = 0.5, bound = 0.5;
          for (int64_t p = 0; p < s.k; ++p) {
            const double weight = double(w[size_t(j * ldw + p)]) * scales[size_t(j * ld_scales + p / 32)];
            sum += double(a[size_t(i * s.k + p)]) * weight;
            bound += std::fabs(double(a[size_t(i * s.k + p)]) * weight);
          }
          const double diff = std::fabs(sum - c[size_t(i * s.n + j)]);
          max_diff = std::max(max_diff, diff);
          ASSERT_LE(diff, 1e-6 * bound + 1e-7) << cpu_level_name(l) << " int8 " << s.m << "x" << s.n << "x" << s.k;
        }
      std::printf("%s gemm_nt_int8 %lldx%lldx%lld: max difference %.3g\n", cpu_level_name(l), (long long)s.m,
                  (long long)s.n, (long long)s.k, max_diff);
    }
}

// One row of an int8 matrix (an embedding row): q * scale, exactly as float32 computes it.
TEST(KernelsTest, Int8RowsWidenToQuantizedValueTimesScale) {
  std::mt19937 rng(19);
  for (CpuLevel l : levels_here())
    for (int64_t n : {1, 7, 32, 33, 100, 256}) {
      std::vector<int8_t> q(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) q[size_t(i)] = int8_t(int(i * 37 % 255) - 127);
      const std::vector<float> scales = random_floats(size_t((n + 31) / 32), rng);
      std::vector<float> out(static_cast<size_t>(n));
      kernel_table(l).widen_int8(n, q.data(), scales.data(), out.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(out[size_t(i)], float(q[size_t(i)]) * scales[size_t(i / 32)]) << cpu_level_name(l) << " " << n << " " << i;
    }
}

TEST(KernelsTest, ThreadedLinearEqualsOneThreadExactly) {
  std::mt19937 rng(11);
  for (int threads : {1, 2, 3}) {
    set_compute_threads(threads);
    for (const GemmShape& s : kShapes) {
      const std::vector<float> a = random_floats(size_t(s.m * s.k), rng), w = random_floats(size_t(s.n * s.k), rng);
      std::vector<float> split(size_t(s.m * s.n), 1.0f), whole(size_t(s.m * s.n), 1.0f);
      linear(s.m, s.n, s.k, a.data(), w.data(), split.data(), /*accumulate=*/true);
      kernel_table().gemm_nt(s.m, s.n, s.k, a.data(), s.k, w.data(), s.k, whole.data(), s.n, true);
      ASSERT_EQ(split, whole) << threads << " threads, " << s.m << "x" << s.n << "x" << s.k;
      // int8, whose threads start at other rows of the scales.
      std::vector<int8_t> q(size_t(s.n * s.k));
      for (size_t i = 0; i < q.size(); ++i) q[i] = int8_t(int(i * 61 % 255) - 127);
      const int64_t groups = (s.k + 31) / 32;
      const std::vector<float> scales = random_floats(size_t(s.n * groups), rng);
      std::fill(split.begin(), split.end(), 1.0f);
      std::fill(whole.begin(), whole.end(), 1.0f);
      linear(s.m, s.n, s.k, a.data(), WeightMatrix{q.data(), scales.data()}, WeightType::kInt8, split.data(), true);
      kernel_table().gemm_nt_int8(s.m, s.n, s.k, a.data(), s.k, q.data(), s.k, scales.data(), groups, whole.data(), s.n,
                                  true);
      ASSERT_EQ(split, whole) << "int8, " << threads << " threads, " << s.m << "x" << s.n << "x" << s.k;
    }
  }
  set_compute_threads(compute_threads());
}

}  // namespace
}  // namespace sculpt
