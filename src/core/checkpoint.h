// Model directories in the Hugging Face layout: config.json + model.safetensors (+ the tokenizer,
// core/tokenizer_files.h).
// Tensor names are the family's: the Llama ones (Qwen3's add q_norm/k_norm) or LLaDA's, so
// published checkpoints load as they are and what we save loads in the family's own code.
//
//   Transformer model = load_transformer("models/drafter");
//   save_transformer(*model, "/tmp/copy", DType::kF16);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/runtime_params.h"
#include "core/safetensors.h"
#include "core/transformer_fwd.h"

namespace sculpt {

// Reads <dir>/config.json and <dir>/model.safetensors, or the shards a sharded checkpoint's
// model.safetensors.index.json names (as Hugging Face writes large models), one shard at a time.
// Every tensor the architecture needs must be present once with the right shape; unknown tensors
// are refused (they mean another architecture). Errors name tensors as the checkpoint does.
// adapt_config, if given, may change the config before the model is built (a drafter's weights
// loaded as a bidirectional refiner, say); the weights must still fit it.
// dtype is what the weights are held in (core/runtime_params.h); float32, the default, is what
// training needs. A tensor already in that dtype is not copied: the parameter uses the file's
// memory mapping (copy-on-write). The model is refused (core/memory_guard.h) when its weights
// cannot fit in the memory available.
Transformer load_transformer(const std::string& model_dir,
                             const std::function<void(ModelConfig&)>& adapt_config = {},
                             WeightsDType dtype = WeightsDType::kF32);

// Writes config.json and model.safetensors into `model_dir` (created if missing), each atomically.
// dtype is the storage type; computation stays float32. DType::kI8 stores every matrix in
// Sculpt's int8 format (core/int8_weights.h) and the vectors in float32.
// Loading an int8 checkpoint holds its matrices as stored when the weights' dtype is
// kCheckpoint (or kAuto leaving them as stored), else dequantizes them to the dtype asked for.
void save_transformer(TransformerImpl& model, const std::string& model_dir, DType dtype = DType::kF32);

bool file_exists(const std::string& path);
void make_directories(const std::string& path);  // mkdir -p; throws Error naming the path

}  // namespace sculpt
