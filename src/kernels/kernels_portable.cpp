// The kernels of kernels_impl.h built for portable (compile flags in src/CMakeLists.txt).
#define SCULPT_KERNEL_TABLE kernel_table_portable
#define SCULPT_KERNEL_LEVEL CpuLevel::kPortable
#include "kernels/kernels_impl.h"
