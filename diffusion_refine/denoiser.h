// The refinement stage as a plug-in: writes the masked positions of a canvas. The pipeline's
// default is the refiner's denoising loop (Refiner); a C++ user may substitute their own
// sampler with Pipeline::set_denoiser.
//
//   class MyDenoiser : public sculpt::Denoiser {
//     RefineResult denoise(const Canvas& c, const RefineParams& p, const RefineStepCallback& on_step) override;
//   };
#pragma once

#include <functional>

#include "diffusion_refine/canvas.h"
#include "diffusion_refine/refine_params.h"
#include "diffusion_refine/refine_result.h"

namespace sculpt {

using RefineStepCallback = std::function<void(const RefineStep& step)>;

class Denoiser {
 public:
  virtual ~Denoiser() = default;
  // Writes every kMasked position of `canvas` (and may revise kDraft ones) and returns tokens of
  // the canvas's length with every kFrozen position unchanged; the pipeline checks both. Calls
  // on_step (if set) after each step. Throws Error for a canvas it cannot refine.
  virtual RefineResult denoise(const Canvas& canvas, const RefineParams& params,
                               const RefineStepCallback& on_step = {}) = 0;
};

}  // namespace sculpt
