// The refiner's settings checked; see refine_params.h. Torch-free, like the params.
#include "diffusion_refine/refine_params.h"

#include "core/error.h"

namespace sculpt {

void RefineParams::validate() const {
  sampler.validate();
  if (sampler.repetition_penalty != 1.0)
    fail("refine.sampler.repetition_penalty", "must be 1 (off): the refiner writes positions in any order, so a "
         "penalty on the tokens before each has no meaning; use refine.no_repeat_ngram");
  if (steps < 1) fail("refine.steps", "must be at least 1, got ", steps);
  if (!(threshold >= 0 && threshold <= 1)) fail("refine.threshold", "must be in [0, 1], got ", threshold);
  if (!(edit_threshold >= 0 && edit_threshold <= 1))
    fail("refine.edit_threshold", "must be in [0, 1], got ", edit_threshold);
  if (block_length < 0) fail("refine.block_length", "must be >= 0, got ", block_length);
}

}  // namespace sculpt
