// The `runtime:` section every config has: compute threads and the seed.
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

}  // namespace sculpt
