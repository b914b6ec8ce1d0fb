// Which vector instructions the kernels may use, chosen once at run time so that one binary runs
// on any x86-64 CPU: AVX-512 (F, BW, VL, DQ with FMA), AVX2 with FMA, or the portable build.
//
//   CpuLevel level = cpu_level();          // detected, capped by SCULPT_CPU if set
//   log_info(cpu_level_name(level));       // "avx512"
#pragma once

namespace sculpt {

enum class CpuLevel { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

const char* cpu_level_name(CpuLevel level);

// What this CPU and its OS support, whatever SCULPT_CPU says.
CpuLevel detected_cpu_level();

// The level the kernels use: the detected one, lowered by the environment variable SCULPT_CPU
// (portable | avx2 | avx512; a level above the detected one is lowered to it, an unknown name
// is an Error naming the choices). Read once, at the first call.
CpuLevel cpu_level();

}  // namespace sculpt
