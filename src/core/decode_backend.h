// What computes a model's forward passes when generating: Sculpt's CPU kernels or LibTorch.
// The drafter (draft.backend) and the refiner (refine.backend) both choose with it.
#pragma once

#include "core/config.h"

namespace sculpt {

enum class DecodeBackend {
  kAuto,      // Sculpt's CPU kernels (kernels/fast_decoder.h) when the model allows, else LibTorch
  kLibTorch,  // LibTorch throughout (the reference the kernels are tested against)
};

// The YAML names: auto, libtorch.
inline Choices<DecodeBackend> decode_backend_choices() {
  return {{"auto", DecodeBackend::kAuto}, {"libtorch", DecodeBackend::kLibTorch}};
}

}  // namespace sculpt
