// Whether a loaded TransformerImpl can run on the LibTorch-free FastDecoder
// (kernels/fast_decoder.h), and its shape and weights for it if so.
//
//   std::string why_not;
//   if (auto fast = fast_decoder_model(*model, &why_not))
//     FastDecoder dec(fast->shape, fast->weights, batch, capacity);
#pragma once

#include <optional>
#include <string>

#include "core/decode_backend.h"
#include "core/fast_decoder_layout.h"
#include "core/runtime_params.h"
#include "core/transformer_fwd.h"

namespace sculpt {

// What a drafter's or a refiner's weights are held in when `dtype` is asked for: kAuto keeps the
// checkpoint's float16 or bfloat16 when the CPU kernels will compute with them (backend kAuto
// and a config fast_decoder_computes), which read them as stored at half the memory traffic of
// float32; otherwise kAuto's general rule (core/runtime_params.h). Other values are returned as
// they are. A missing or broken config.json is left for the loader to report.
WeightsDType kernels_weights_dtype(const std::string& model_dir, WeightsDType dtype, DecodeBackend backend);

// The model as FastDecoder computes it (fast_decoder_layout over its parameters), or nullopt
// with *why_not (if given) saying what it does not compute: what fast_decoder_layout refuses, a
// parameter held in a dtype other than float32, float16, bfloat16 and int8, an attached
// (unmerged) LoRA adapter, or a model in training mode.
std::optional<FastDecoderModel> fast_decoder_model(TransformerImpl& model, std::string* why_not = nullptr);

}  // namespace sculpt
