// The thread settings every sculpt process runs with, which libgomp and OpenBLAS read once, when
// they are loaded. Idle threads of one library must not hold the cores another computes on:
// - LibTorch's OpenMP threads spin while OpenBLAS's own threads run the matrix products; on two
//   cores they fight (measured: decode 26 -> 48 tokens/s, prefill 650 -> 960 tokens/s with
//   passive waiting).
// - OpenBLAS's threads keep calling sched_yield for about 2^28 cycles after each product; the
//   CPU kernels' pool (kernels/thread_pool.h) then waits for a core (measured: a decoding step's
//   matrix products 4.8 ms instead of 0.07 ms right after LibTorch work). 2^4 cycles puts them
//   to sleep at once.
// Header-only and free of dependencies: the `sculpt` launcher (cli/sculpt_launcher.cpp) sets them
// before the CLI and its libraries load; the CLI (cli/main.cpp) sets them and restarts itself
// when run directly.
#pragma once

#include <cstdlib>

namespace sculpt::cli {

// Sets each variable the environment does not already set; true if it set any.
inline bool set_thread_environment() {
  struct Setting {
    const char* name;
    const char* value;
  };
  const Setting settings[] = {{"OMP_WAIT_POLICY", "PASSIVE"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}};
  bool changed = false;
  for (const Setting& s : settings)
    if (std::getenv(s.name) == nullptr) {
      ::setenv(s.name, s.value, /*overwrite=*/0);
      changed = true;
    }
  return changed;
}

}  // namespace sculpt::cli
