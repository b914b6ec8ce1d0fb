// Whether a loaded TransformerImpl can run on the LibTorch-free FastDecoder
// (kernels/fast_decoder.h), and its shape and weights for it if so.
//
//   std::string why_not;
//   if (auto fast = fast_decoder_model(*model, &why_not))
//     FastDecoder dec(fast->shape, fast->weights, batch, capacity);
#pragma once

#include <optional>
#include <string>

#include "core/transformer.h"
#include "kernels/fast_decoder.h"

namespace sculpt {

struct FastDecoderModel {
  FastDecoderShape shape;
  FastDecoderWeights weights;  // pointers into the model's parameters: the model must outlive them
};

// The model as FastDecoder computes it, or nullopt with *why_not (if given) saying what it
// does not compute: attention other than causal, a mixture of experts, weights held in another
// dtype than float32, an attached (unmerged) LoRA adapter, or a model in training mode.
std::optional<FastDecoderModel> fast_decoder_model(TransformerImpl& model, std::string* why_not = nullptr);

}  // namespace sculpt
