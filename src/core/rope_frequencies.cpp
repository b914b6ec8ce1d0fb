// RoPE's frequency schedules; see rope_frequencies.h.
#include "core/rope_frequencies.h"

#include <cmath>

namespace sculpt {

std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta, const RopeScaling& scaling) {
  std::vector<double> inv_freq;
  for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq.push_back(std::pow(theta, -double(2 * i) / double(head_dim)));
  if (scaling.type != RopeScalingType::kLlama3) return inv_freq;
  const double original = double(scaling.original_max_position_embeddings);
  const double low_freq_wavelen = original / scaling.low_freq_factor;    // longer waves are divided by factor
  const double high_freq_wavelen = original / scaling.high_freq_factor;  // shorter waves are kept
  for (double& f : inv_freq) {
    const double wavelen = 2 * M_PI / f;
    if (wavelen > low_freq_wavelen) {
      f /= scaling.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (original / wavelen - scaling.low_freq_factor) /
                            (scaling.high_freq_factor - scaling.low_freq_factor);
      f = (1 - smooth) * f / scaling.factor + smooth * f;
    }
  }
  return inv_freq;
}

}  // namespace sculpt
