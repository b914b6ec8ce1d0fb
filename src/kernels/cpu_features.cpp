// Run-time CPU detection for the kernels; see cpu_features.h.
#include "kernels/cpu_features.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace sculpt {

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::kPortable: return "portable";
    case CpuLevel::kAvx2: return "avx2";
    case CpuLevel::kAvx512: return "avx512";
  }
  return "?";
}

CpuLevel detected_cpu_level() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // __builtin_cpu_supports reads CPUID and the OS's XCR0, so a kernel that does not save the
  // wide registers reports no AVX.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
    return CpuLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuLevel::kAvx2;
#endif
  return CpuLevel::kPortable;
}

namespace {

CpuLevel level_from_environment() {
  const CpuLevel detected = detected_cpu_level();
  const char* env = std::getenv("SCULPT_CPU");
  if (env == nullptr || *env == '\0') return detected;
  const std::string name = env;
  CpuLevel asked;
  if (name == "portable") asked = CpuLevel::kPortable;
  else if (name == "avx2") asked = CpuLevel::kAvx2;
  else if (name == "avx512") asked = CpuLevel::kAvx512;
  else fail("SCULPT_CPU", "'", name, "' is not a CPU level: use portable, avx2 or avx512");
  return asked < detected ? asked : detected;
}

}  // namespace

CpuLevel cpu_level() {
  static const CpuLevel level = level_from_environment();
  return level;
}

}  // namespace sculpt
