// Applies the runtime section of a config to the process (LibTorch threads).
#include <ATen/Parallel.h>

#include <thread>

#include "cli/cli_util.h"

namespace sculpt::cli {

void apply_runtime(const RuntimeParams& runtime) {
  // LibTorch's own default counts physical cores, which on these VMs is 1 of 2 vCPUs.
  const int n = runtime.n_threads > 0 ? runtime.n_threads : int(std::thread::hardware_concurrency());
  if (n > 0) at::set_num_threads(n);
}

}  // namespace sculpt::cli
