// The `runtime:` section every config has: compute threads and the seed; pipeline configs add
// the dtype the weights are held in.
#pragma once

#include <cstdint>

#include "core/config.h"

namespace sculpt {

struct RuntimeParams {
  int n_threads = 0;   // compute threads; 0 = all cores
  int64_t seed = 0;    // seed for weight initialisation and sampling

  template <class V>
  void visit(V& v) {
    v.field("n_threads", n_threads, "compute threads; 0 = all cores", Range{0, 1024});
    v.field("seed", seed, "random seed", Range::at_least(0));
  }
};

// What a loaded model's weights are held in. Computation is float32 whatever they are held in:
// float16 and bfloat16 weights are widened one matrix at a time as they are used, which halves
// their memory but costs time on every forward pass. kAuto therefore widens a float16/bfloat16
// checkpoint to float32 at load when that copy takes at most half the memory available, and
// keeps the checkpoint's dtype (kCheckpoint) when it would not.
enum class WeightsDType { kAuto, kCheckpoint, kF32, kF16, kBF16 };

// runtime: of a pipeline config, which loads models to generate with.
struct GenerationRuntimeParams : RuntimeParams {
  WeightsDType dtype = WeightsDType::kAuto;

  template <class V>
  void visit(V& v) {
    RuntimeParams::visit(v);
    v.field("dtype", dtype,
            "what the models' weights are held in: auto (float32 when that fits in half the memory available, else "
            "the checkpoint's), checkpoint, float32, float16 or bfloat16; computation is float32 either way",
            Choices<WeightsDType>{{"auto", WeightsDType::kAuto},
                                  {"checkpoint", WeightsDType::kCheckpoint},
                                  {"float32", WeightsDType::kF32},
                                  {"float16", WeightsDType::kF16},
                                  {"bfloat16", WeightsDType::kBF16}});
  }
};

}  // namespace sculpt
