// The kernels of kernels_impl.h built for avx2 (compile flags in src/CMakeLists.txt).
#define SCULPT_KERNEL_TABLE kernel_table_avx2
#define SCULPT_KERNEL_LEVEL CpuLevel::kAvx2
#include "kernels/kernels_impl.h"
