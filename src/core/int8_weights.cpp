// Int8 weights with a scale per group of 32 inputs; see int8_weights.h.
#include "core/int8_weights.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace sculpt {

void quantize_int8(const float* w, int64_t rows, int64_t cols, int8_t* q, float* scales) {
  const int64_t groups = int8_scale_columns(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t c0 = g * kInt8GroupSize, c1 = std::min(cols, c0 + kInt8GroupSize);
      const float* in = w + r * cols;
      float amax = 0.0f;
      for (int64_t c = c0; c < c1; ++c) {
        if (!std::isfinite(in[c])) fail("int8 quantization", "row ", r, " column ", c, " holds ", in[c]);
        amax = std::max(amax, std::fabs(in[c]));
      }
      const float scale = amax / 127.0f;
      scales[r * groups + g] = scale;
      // Dividing by the scale (not multiplying by its inverse) keeps q = +-127 exact at the maximum.
      for (int64_t c = c0; c < c1; ++c)
        q[r * cols + c] = scale == 0.0f ? 0 : int8_t(std::clamp(std::nearbyint(in[c] / scale), -127.0f, 127.0f));
    }
  }
}

}  // namespace sculpt
