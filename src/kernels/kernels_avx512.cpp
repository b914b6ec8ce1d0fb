// The kernels of kernels_impl.h built for avx512 (compile flags in src/CMakeLists.txt).
#define SCULPT_KERNEL_TABLE kernel_table_avx512
#define SCULPT_KERNEL_LEVEL CpuLevel::kAvx512
#include "kernels/kernels_impl.h"
