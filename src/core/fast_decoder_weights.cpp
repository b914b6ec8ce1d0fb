// The drafter's and the refiner's models as FastDecoder weights; see fast_decoder_weights.h.
#include "core/fast_decoder_weights.h"

#include <utility>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/int8_weights.h"
#include "core/transformer.h"

namespace sculpt {
namespace {

// The safetensors dtype of a held tensor, if FastDecoder reads it.
std::optional<DType> stored_dtype(at::ScalarType t) {
  if (t == at::kFloat) return DType::kF32;
  if (t == at::kHalf) return DType::kF16;
  if (t == at::kBFloat16) return DType::kBF16;
  if (t == at::kChar) return DType::kI8;
  return std::nullopt;
}

bool is_int8_scale_name(const std::string& name) {
  const std::string suffix = kInt8ScaleSuffix;
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

WeightsDType kernels_weights_dtype(const std::string& model_dir, WeightsDType dtype, DecodeBackend backend) {
  const std::string config = model_dir + "/config.json";
  if (dtype == WeightsDType::kAuto && backend == DecodeBackend::kAuto && file_exists(config) &&
      fast_decoder_computes(load_model_config(config)))
    return WeightsDType::kCheckpoint;
  return dtype;
}

std::optional<FastDecoderModel> fast_decoder_model(TransformerImpl& model, std::string* why_not) {
  auto refuse = [&](const std::string& why) -> std::optional<FastDecoderModel> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  const ModelConfig& c = model.config();
  if (!fast_decoder_computes(c, why_not)) return std::nullopt;
  if (model.is_training()) return refuse("the model is in training mode");
  for (const auto& m : model.modules(/*include_self=*/false))
    if (auto lora = std::dynamic_pointer_cast<LoraLinearImpl>(m); lora && lora->has_adapter())
      return refuse("a LoRA adapter is attached rather than merged");
  // Every parameter, and each int8 matrix's scales (buffers, core/int8_weights.h), where it is held.
  StoredTensors tensors;
  std::vector<std::pair<std::string, at::Tensor>> held;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) held.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true))
    if (is_int8_scale_name(b.key())) held.emplace_back(b.key(), b.value());
  for (const auto& [name, t] : held) {
    const std::optional<DType> dtype = stored_dtype(t.scalar_type());
    if (!dtype) return refuse(str_cat("weights held in ", t.scalar_type(), " (", name, ")"));
    if (!t.is_contiguous()) return refuse(str_cat(name, " is not contiguous"));
    tensors[name] = {*dtype, t.sizes().vec(), t.data_ptr()};
  }
  return fast_decoder_layout(c, std::move(tensors), why_not);
}

}  // namespace sculpt
