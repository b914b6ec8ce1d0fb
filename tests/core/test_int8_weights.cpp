// Sculpt's int8 weight format (core/int8_weights.h) against its definition: per group of 32
// inputs of a row, scale = max |w| / 127 and q = round(w / scale), the group's largest weight
// exactly +-127, every weight within half a step of its dequantized value.
#include "core/int8_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"

namespace sculpt {
namespace {

TEST(Int8WeightsTest, QuantizesEachGroupOf32ByItsLargestMagnitude) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  for (int64_t cols : {1, 31, 32, 33, 100, 256}) {
    const int64_t rows = 5, groups = (cols + 31) / 32;
    ASSERT_EQ(int8_scale_columns(cols), groups);
    std::vector<float> w(size_t(rows * cols));
    for (float& x : w) x = dist(rng);
    std::vector<int8_t> q(w.size());
    std::vector<float> scales(size_t(rows * groups));
    quantize_int8(w.data(), rows, cols, q.data(), scales.data());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        double amax = 0;
        int64_t at = 0;
        for (int64_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c)
          if (std::fabs(w[size_t(r * cols + c)]) > amax) amax = std::fabs(w[size_t(r * cols + (at = c))]);
        const float scale = scales[size_t(r * groups + g)];
        ASSERT_EQ(scale, float(amax) / 127.0f) << cols << " cols, row " << r << ", group " << g;
        ASSERT_EQ(std::abs(int(q[size_t(r * cols + at)])), 127);
        for (int64_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c) {
          const float x = w[size_t(r * cols + c)];
          ASSERT_EQ(q[size_t(r * cols + c)], int8_t(std::nearbyint(x / scale))) << c;
          const float dequantized = float(q[size_t(r * cols + c)]) * scale;
          ASSERT_LE(std::fabs(double(dequantized) - x), 0.5 * scale * (1 + 1e-6) + std::fabs(x) * 1e-6) << c;
        }
      }
    }
  }
}

TEST(Int8WeightsTest, AGroupOfZerosHasScaleZero) {
  std::vector<float> w(40, 0.0f);
  w[35] = -2.54f;  // the second group: 8 inputs, one nonzero
  std::vector<int8_t> q(40, 1);
  std::vector<float> scales(2, 1.0f);
  quantize_int8(w.data(), 1, 40, q.data(), scales.data());
  EXPECT_EQ(scales[0], 0.0f);
  EXPECT_EQ(scales[1], 2.54f / 127.0f);
  for (int c = 0; c < 40; ++c) EXPECT_EQ(q[size_t(c)], c == 35 ? -127 : 0) << c;
}

TEST(Int8WeightsTest, NonFiniteWeightsAreRefusedByPosition) {
  std::vector<float> w(64, 1.0f);
  w[32 + 7] = std::numeric_limits<float>::quiet_NaN();
  std::vector<int8_t> q(64);
  std::vector<float> scales(2);
  try {
    quantize_int8(w.data(), 2, 32, q.data(), scales.data());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 column 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sculpt
