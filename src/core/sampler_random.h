// The random stream the token sampler draws from: that of LibTorch's CPU generator
// (at::CPUGeneratorImpl), reproduced without LibTorch, so that a seeded draft or refinement is
// the same whether the LibTorch path or the CPU kernels compute it, and the one at::multinomial
// draws with LibTorch's generator of the same seed.
//
//   SamplerRandom random(/*seed=*/42);
//   double q = random.exponential();   // one draw of Exp(1)
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace sculpt {

class SamplerRandom {
 public:
  // MT19937 (Matsumoto & Nishimura 1998) seeded with the seed's low 32 bits, as LibTorch seeds
  // its CPU generator (at::mt19937's init_with_uint32 is the reference initialisation).
  explicit SamplerRandom(uint64_t seed) : engine_(static_cast<uint32_t>(seed)) {}

  // One draw of U[0, 1) as Tensor::exponential_ takes it on the CPU in double (LibTorch 1.13
  // without MKL): the low 53 bits of (first 32-bit output << 32 | second output) times 2^-53.
  double uniform();

  // The Exp(1) variate of a uniform draw u, as Tensor::exponential_ computes it: -log(1 - u).
  // It is at least u, which lets a caller that only compares it skip the logarithm.
  static double exponential_of(double u) { return -std::log(1.0 - u); }

  // One draw of Exp(1): exponential_of(uniform()).
  double exponential() { return exponential_of(uniform()); }

 private:
  std::mt19937 engine_;
};

}  // namespace sculpt
