// Choosing a build of the kernels at run time, and the threaded linear layer; see kernels.h.
#include "kernels/kernels.h"

#include <algorithm>

#include "core/error.h"
#include "core/int8_weights.h"
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
    case WeightType::kInt8: return "int8";
  }
  return "?";
}

namespace {

size_t element_size(WeightType type) {
  switch (type) {
    case WeightType::kF32: return sizeof(float);
    case WeightType::kF16:
    case WeightType::kBF16: return sizeof(uint16_t);
    case WeightType::kInt8: return sizeof(int8_t);
  }
  return sizeof(float);
}

// Rows [j, ...) of w [?, cols].
WeightMatrix rows_from(WeightMatrix w, WeightType type, int64_t cols, int64_t j) {
  return {static_cast<const char*>(w.data) + size_t(j * cols) * element_size(type),
          w.scales ? w.scales + j * int8_scale_columns(cols) : nullptr};
}

}  // namespace

void linear(int64_t m, int64_t n, int64_t k, const float* a, WeightMatrix w, WeightType type, float* c, bool accumulate) {
  const KernelTable& kt = kernel_table();
  if (type == WeightType::kInt8 && w.scales == nullptr) fail("kernels", "an int8 matrix needs its scales");
  // The gemm_nt of w's dtype on output columns [j0, j1), that is on rows [j0, j1) of w.
  auto product = [&](int64_t j0, int64_t j1) {
    const WeightMatrix wj = rows_from(w, type, k, j0);
    const auto* w16 = static_cast<const uint16_t*>(wj.data);
    switch (type) {
      case WeightType::kF32: kt.gemm_nt(m, j1 - j0, k, a, k, static_cast<const float*>(wj.data), k, c + j0, n, accumulate); break;
      case WeightType::kF16: kt.gemm_nt_f16(m, j1 - j0, k, a, k, w16, k, c + j0, n, accumulate); break;
      case WeightType::kBF16: kt.gemm_nt_bf16(m, j1 - j0, k, a, k, w16, k, c + j0, n, accumulate); break;
      case WeightType::kInt8:
        kt.gemm_nt_int8(m, j1 - j0, k, a, k, static_cast<const int8_t*>(wj.data), k, wj.scales, int8_scale_columns(k),
                        c + j0, n, accumulate);
        break;
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

void widen_row(int64_t cols, WeightMatrix w, WeightType type, int64_t row, float* out) {
  const WeightMatrix r = rows_from(w, type, cols, row);
  switch (type) {
    case WeightType::kF32: std::copy_n(static_cast<const float*>(r.data), cols, out); break;
    case WeightType::kF16: kernel_table().widen_f16(cols, static_cast<const uint16_t*>(r.data), out); break;
    case WeightType::kBF16: kernel_table().widen_bf16(cols, static_cast<const uint16_t*>(r.data), out); break;
    case WeightType::kInt8: kernel_table().widen_int8(cols, static_cast<const int8_t*>(r.data), r.scales, out); break;
  }
}

}  // namespace sculpt
