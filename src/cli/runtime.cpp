// Applies the runtime section of a config to the process (LibTorch threads).
#include <ATen/Parallel.h>

#include "cli/cli_util.h"

namespace sculpt::cli {

void apply_runtime(const RuntimeParams& runtime) {
  if (runtime.n_threads > 0) at::set_num_threads(runtime.n_threads);
}

}  // namespace sculpt::cli
