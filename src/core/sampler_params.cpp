// The sampler's settings checked; see sampler_params.h. Torch-free, so the config loader and
// the server's request parsing check them without the model library.
#include "core/sampler_params.h"

#include "core/error.h"

namespace sculpt {

void SamplerParams::validate() const {
  const char* where = "SamplerParams";
  if (!(temperature >= 0 && temperature <= 100))
    fail(where, "temperature must be in [0, 100], got ", temperature);
  if (top_k < 0) fail(where, "top_k must be >= 0, got ", top_k);
  if (!(top_p > 0 && top_p <= 1)) fail(where, "top_p must be in (0, 1], got ", top_p);
  if (!(min_p >= 0 && min_p <= 1)) fail(where, "min_p must be in [0, 1], got ", min_p);
  if (!(repetition_penalty > 0 && repetition_penalty <= 100))
    fail(where, "repetition_penalty must be in (0, 100], got ", repetition_penalty);
  if (seed < 0) fail(where, "seed must be >= 0, got ", seed);
}

}  // namespace sculpt
