// Choosing a build of the kernels at run time, and the threaded linear layer; see kernels.h.
#include "kernels/kernels.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/thread_pool.h"

namespace sculpt {

// Defined by kernels_{avx512,avx2,portable}.cpp.
const KernelTable& kernel_table_avx512();
const KernelTable& kernel_table_avx2();
const KernelTable& kernel_table_portable();

const KernelTable& kernel_table(CpuLevel level) {
  if (level > detected_cpu_level())
    fail("kernels", "this CPU cannot run the ", cpu_level_name(level), " kernels (it supports ",
         cpu_level_name(detected_cpu_level()), ")");
  switch (level) {
    case CpuLevel::kAvx512: return kernel_table_avx512();
    case CpuLevel::kAvx2: return kernel_table_avx2();
    case CpuLevel::kPortable: break;
  }
  return kernel_table_portable();
}

const KernelTable& kernel_table() {
  static const KernelTable& table = kernel_table(cpu_level());
  return table;
}

const char* weight_type_name(WeightType type) {
  switch (type) {
    case WeightType::kF32: return "float32";
    case WeightType::kF16: return "float16";
    case WeightType::kBF16: return "bfloat16";
  }
  return "?";
}

void linear(int64_t m, int64_t n, int64_t k, const float* a, const void* w, WeightType type, float* c, bool accumulate) {
  const KernelTable& kt = kernel_table();
  const size_t element = type == WeightType::kF32 ? sizeof(float) : sizeof(uint16_t);
  // The gemm_nt of w's dtype on output columns [j0, j1), that is on rows [j0, j1) of w.
  auto product = [&](int64_t j0, int64_t j1) {
    const void* wj = static_cast<const char*>(w) + size_t(j0 * k) * element;
    const auto* w16 = static_cast<const uint16_t*>(wj);
    switch (type) {
      case WeightType::kF32: kt.gemm_nt(m, j1 - j0, k, a, k, static_cast<const float*>(wj), k, c + j0, n, accumulate); break;
      case WeightType::kF16: kt.gemm_nt_f16(m, j1 - j0, k, a, k, w16, k, c + j0, n, accumulate); break;
      case WeightType::kBF16: kt.gemm_nt_bf16(m, j1 - j0, k, a, k, w16, k, c + j0, n, accumulate); break;
    }
  };
  ThreadPool& pool = compute_pool();
  // Each thread takes a contiguous share of the output columns, that is of w's rows, so the
  // threads stream disjoint parts of the weights; shares are rounded to 16 columns.
  const int64_t n_threads = std::min<int64_t>(pool.n_threads(), std::max<int64_t>(1, n / 16));
  if (n_threads <= 1) {
    product(0, n);
    return;
  }
  const int64_t share = ((n + n_threads - 1) / n_threads + 15) & ~int64_t(15);
  pool.run([&](int t, int) {
    const int64_t j0 = std::min<int64_t>(n, t * share), j1 = std::min<int64_t>(n, j0 + share);
    if (j1 > j0) product(j0, j1);
  });
}

void widen(int64_t n, const void* src, WeightType type, float* out) {
  switch (type) {
    case WeightType::kF32: std::copy_n(static_cast<const float*>(src), n, out); break;
    case WeightType::kF16: kernel_table().widen_f16(n, static_cast<const uint16_t*>(src), out); break;
    case WeightType::kBF16: kernel_table().widen_bf16(n, static_cast<const uint16_t*>(src), out); break;
  }
}

}  // namespace sculpt
