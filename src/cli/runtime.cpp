// Applies the runtime section of a config to the process (LibTorch threads); reads its peak memory.
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "cli/cli_util.h"
#include "kernels/thread_pool.h"

namespace sculpt::cli {

void apply_runtime(const RuntimeParams& runtime, int concurrent) {
  // LibTorch's own default counts physical cores, which on these VMs is 1 of 2 vCPUs. Without
  // runtime.n_threads, OMP_NUM_THREADS (which `sculpt launch` sets for each of its processes,
  // as torchrun does) is honoured, then every logical core.
  int n = runtime.n_threads;
  if (n == 0)
    if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp && std::atoi(omp) > 0) n = std::atoi(omp);
  if (n == 0) n = int(std::thread::hardware_concurrency());
  if (n <= 0) return;
  if (concurrent > 1) {
    // Computations running at once share the threads. OpenBLAS keeps its own pool of every core
    // for each caller; two callers on two cores then fight (measured with `sculpt bench serve`,
    // 2 clients: 4.7 requests/s with OpenBLAS's pool, 15.6 with one OpenBLAS thread each).
    n = std::max(1, n / concurrent);
    using SetThreads = void (*)(int);
    if (auto set_blas = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas(n);
  }
  at::set_num_threads(n);
  set_compute_threads(n);
}

namespace {

// A "Field:   N kB" line of /proc/self/status, in bytes; -1 if it is not there.
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size())) * 1024;
  return -1;
}

}  // namespace

int64_t resident_bytes() { return status_bytes("VmRSS:"); }
int64_t peak_rss_bytes() { return status_bytes("VmHWM:"); }

}  // namespace sculpt::cli
