// LibTorch's CPU random stream without LibTorch; see sampler_random.h.
#include "core/sampler_random.h"

namespace sculpt {

double SamplerRandom::uniform() {
  const uint64_t first = engine_(), second = engine_();
  const uint64_t bits = (first << 32 | second) & ((uint64_t(1) << 53) - 1);
  return double(bits) * (1.0 / double(uint64_t(1) << 53));
}

}  // namespace sculpt
