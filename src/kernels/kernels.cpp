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

void linear(int64_t m, int64_t n, int64_t k, const float* a, const float* w, float* c, bool accumulate) {
  const KernelTable& kt = kernel_table();
  ThreadPool& pool = compute_pool();
  // Each thread takes a contiguous share of the output columns, that is of w's rows, so the
  // threads stream disjoint parts of the weights; shares are rounded to 16 columns.
  const int64_t n_threads = std::min<int64_t>(pool.n_threads(), std::max<int64_t>(1, n / 16));
  if (n_threads <= 1) {
    kt.gemm_nt(m, n, k, a, k, w, k, c, n, accumulate);
    return;
  }
  const int64_t share = ((n + n_threads - 1) / n_threads + 15) & ~int64_t(15);
  pool.run([&](int t, int) {
    const int64_t j0 = std::min<int64_t>(n, t * share), j1 = std::min<int64_t>(n, j0 + share);
    if (j1 > j0) kt.gemm_nt(m, j1 - j0, k, a, k, w + j0 * k, k, c + j0, n, accumulate);
  });
}

}  // namespace sculpt
