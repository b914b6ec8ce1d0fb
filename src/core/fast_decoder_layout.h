// A Llama-layout decoder's tensors, found by their Hugging Face names, as the CPU kernels'
// FastDecoder (kernels/fast_decoder.h) computes them. Torch-free, so that one mapping serves a
// loaded module's parameters (core/fast_decoder_weights.h) and a safetensors file mapped by a
// program that never loads LibTorch (ar_draft/kernel_drafter.h).
//
//   StoredTensors tensors;  // every tensor of the checkpoint, by name
//   std::string why_not;
//   if (auto fast = fast_decoder_layout(config, tensors, &why_not))
//     FastDecoder dec(fast->shape, fast->weights, batch, capacity);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/safetensors.h"
#include "kernels/fast_decoder.h"

namespace sculpt {

// One tensor where it is held: row-major, contiguous, `data` aligned to its dtype's size.
struct StoredTensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};
using StoredTensors = std::map<std::string, StoredTensor>;

// Whether FastDecoder computes models of this config (causal or bidirectional attention, no
// mixture of experts); if not, *why_not (if given) says why.
bool fast_decoder_computes(const ModelConfig& config, std::string* why_not = nullptr);

struct FastDecoderModel {
  FastDecoderShape shape;
  FastDecoderWeights weights;  // pointers into the tensors' storage, which must outlive them
};

// The model of `config` over `tensors` (an int8 matrix's scales are the tensor named
// kInt8ScaleSuffix after it, core/int8_weights.h), or nullopt with *why_not (if given) saying
// what FastDecoder does not compute: a config fast_decoder_computes refuses, a tensor missing,
// of the wrong shape or misaligned, matrices in different dtypes, an int8 vector, an int8 matrix
// without float32 scales of its shape, or a tensor FastDecoder would ignore. Vectors stored in
// float16 or bfloat16 are widened into the weights' own copies.
std::optional<FastDecoderModel> fast_decoder_layout(const ModelConfig& config, StoredTensors tensors,
                                                    std::string* why_not = nullptr);

}  // namespace sculpt
