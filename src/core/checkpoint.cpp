// Loading and saving Transformer weights as Hugging Face model directories.
#include "core/checkpoint.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/int8_weights.h"
#include "core/lora_linear.h"
#include "core/memory_guard.h"
#include "core/transformer.h"

namespace sculpt {
namespace {

at::ScalarType scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kF32: return at::kFloat;
    case DType::kF16: return at::kHalf;
    case DType::kBF16: return at::kBFloat16;
    case DType::kI8: return at::kChar;
  }
  return at::kFloat;
}

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
    case DType::kI8: return "float32";  // of the vectors; the matrices' int8 is quantization_config's
  }
  return "float32";
}

// Tensors some exporters add that carry no weights (older HF Llama saved rotary inv_freq).
bool is_ignorable(const std::string& name) {
  return name.size() > 24 && name.compare(name.size() - 24, 24, ".rotary_emb.inv_freq") == 0;
}

// The one place where a checkpoint's tensor names differ from the modules': LLaDA's
// (modeling_llada.py, LLaDAModelLM.model.transformer = {wte, blocks.N, ln_f, ff_out}, a
// LLaDALlamaBlock computing ff_out(act(ff_proj(x)) * up_proj(x))) for the Llama names the
// Transformer registers. Every other family's checkpoint uses the module names. A name that
// matches nothing comes back unchanged (loading then refuses it as unexpected).
enum class NameTo { kModule, kCheckpoint };

std::string map_tensor_name(const ModelConfig& c, const std::string& name, NameTo to) {
  if (!c.family().llada_layout) return name;
  using Names = std::pair<const char*, const char*>;  // {module, LLaDA}
  static const Names kWhole[] = {{"model.embed_tokens.weight", "model.transformer.wte.weight"},
                                 {"model.norm.weight", "model.transformer.ln_f.weight"},
                                 {"lm_head.weight", "model.transformer.ff_out.weight"}};
  static const Names kInLayer[] = {  // after "model.layers.N." / "model.transformer.blocks.N."
      {"self_attn.q_proj.", "q_proj."},   {"self_attn.k_proj.", "k_proj."},
      {"self_attn.v_proj.", "v_proj."},   {"self_attn.o_proj.", "attn_out."},
      {"mlp.gate_proj.", "ff_proj."},     {"mlp.up_proj.", "up_proj."},
      {"mlp.down_proj.", "ff_out."},      {"input_layernorm.", "attn_norm."},
      {"post_attention_layernorm.", "ff_norm."}};
  const bool to_module = to == NameTo::kModule;
  auto from = [&](const Names& n) { return std::string(to_module ? n.second : n.first); };
  auto into = [&](const Names& n) { return std::string(to_module ? n.first : n.second); };
  for (const Names& n : kWhole)
    if (name == from(n)) return into(n);
  const Names layers{"model.layers.", "model.transformer.blocks."};
  const std::string prefix = from(layers);
  if (name.rfind(prefix, 0) != 0) return name;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return name;
  const std::string index = name.substr(prefix.size(), dot + 1 - prefix.size());  // "N."
  const std::string rest = name.substr(dot + 1);
  for (const Names& n : kInLayer)
    if (rest.rfind(from(n), 0) == 0) return into(layers) + index + into(n) + rest.substr(from(n).size());
  return name;
}

}  // namespace

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_directories(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      fail(partial, "cannot create directory: ", errno_text(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail(path, "is not a directory");
}

namespace {

// Which file each parameter came from, across the shards.
using LoadedTensors = std::map<std::string, std::string>;

bool is_int8_scale(const SafetensorsFile& file, const std::string& name) {
  const size_t n = std::char_traits<char>::length(kInt8ScaleSuffix);
  if (name.size() <= n || name.compare(name.size() - n, n, kInt8ScaleSuffix) != 0) return false;
  const TensorInfo* q = file.find(name.substr(0, name.size() - n));
  return q != nullptr && q->dtype == DType::kI8;
}

at::Tensor mapped_tensor(const std::shared_ptr<const SafetensorsFile>& file, const TensorInfo& info) {
  return at::from_blob(const_cast<uint8_t*>(file->data(info)), info.shape, [file](void*) {},
                       at::TensorOptions().dtype(scalar_type(info.dtype)));
}

// An int8 matrix of `file` and its scales as float32 (core/int8_weights.h).
at::Tensor dequantized(const std::shared_ptr<const SafetensorsFile>& file, const TensorInfo& q) {
  const TensorInfo* scale = file->find(q.name + kInt8ScaleSuffix);
  if (scale == nullptr || scale->dtype != DType::kF32)
    fail(file->path(), "int8 tensor '", q.name, "' needs its float32 scales '", q.name, kInt8ScaleSuffix, "' beside it");
  if (q.shape.size() != 2) fail(file->path(), "int8 tensor '", q.name, "' must be a matrix, got shape ", at::IntArrayRef(q.shape));
  at::Tensor s = mapped_tensor(file, *scale);
  if (reinterpret_cast<uintptr_t>(file->data(*scale)) % sizeof(float) != 0) s = s.clone();
  return dequantize_int8(mapped_tensor(file, q), s);
}

// Points each parameter (and int8 scale buffer) named in `file` at its tensor: at the mapping
// itself when it is already in the wanted dtype and aligned (the tensor then keeps the mapping
// alive), else at a converted copy (the mapping is read once and can go). Int8 matrices stay
// int8 in a model built for them (config int8_group_size), else are dequantized to `dtype`.
void take_tensors(TransformerImpl& model, const std::shared_ptr<const SafetensorsFile>& file,
                  std::optional<DType> dtype, bool int8_checkpoint, LoadedTensors& loaded) {
  at::NoGradGuard no_grad;
  auto params = model.named_parameters(/*recurse=*/true);
  auto buffers = model.named_buffers(/*recurse=*/true);
  const ModelConfig& c = model.config();
  const bool int8_model = c.int8_group_size > 0;
  for (const TensorInfo& info : file->tensors()) {
    const std::string name = map_tensor_name(c, info.name, NameTo::kModule);
    at::Tensor* target = params.find(name);
    at::Tensor* scale = int8_model && !target ? buffers.find(name) : nullptr;
    if (scale) target = scale;
    if (!target && !int8_model && is_int8_scale(*file, info.name)) continue;  // taken with its matrix
    if (!target) {
      if (is_ignorable(info.name)) continue;
      if (name == "lm_head.weight" && c.tie_word_embeddings) continue;  // tied: embed wins
      fail(file->path(), "unexpected tensor '", info.name, "' (not part of this ", c.num_hidden_layers, "-layer ",
           c.family().name, " architecture)");
    }
    if (at::IntArrayRef(info.shape) != target->sizes())
      fail(file->path(), "tensor '", info.name, "' has shape ", at::IntArrayRef(info.shape),
           ", the config needs ", target->sizes());
    if (auto [it, inserted] = loaded.emplace(name, file->path()); !inserted)
      fail(file->path(), "tensor '", info.name, "' is also in ", it->second);
    // An int8 checkpoint stores every matrix (not its scales) as I8, and nothing else.
    const bool int8_matrix = int8_checkpoint && target->dim() == 2 && !scale;
    if ((info.dtype == DType::kI8) != int8_matrix)
      fail(file->path(), "tensor '", info.name, "' is ", dtype_name(info.dtype), ", but config.json ",
           !int8_checkpoint ? "has no quantization_config"
                            : int8_matrix ? "'s quantization_config says every matrix is I8" : "stores only matrices as I8");
    if (info.dtype == DType::kI8 && !int8_model) {
      target->set_data(dequantized(file, info).to(scalar_type(dtype.value_or(DType::kF32))));
      file->drop_pages(info);
      continue;
    }
    const uint8_t* bytes = file->data(info);
    const at::Tensor mapped = mapped_tensor(file, info);
    const DType want = info.dtype == DType::kI8 ? DType::kI8 : dtype.value_or(info.dtype);
    const bool aligned = reinterpret_cast<uintptr_t>(bytes) % dtype_size(info.dtype) == 0;
    if (want == info.dtype && aligned)
      target->set_data(mapped);
    else {
      target->set_data(want == info.dtype ? mapped.clone() : mapped.to(scalar_type(want)));
      file->drop_pages(info);  // only the copy is used from now on
    }
  }
}

void check_all_loaded(TransformerImpl& model, const LoadedTensors& loaded, const std::string& where) {
  auto tensors = model.named_parameters(/*recurse=*/true);
  for (const auto& buffer : model.named_buffers(/*recurse=*/true)) tensors.insert(buffer.key(), buffer.value());
  for (const auto& item : tensors) {
    if (!loaded.count(item.key()))
      fail(where, "missing tensor '", map_tensor_name(model.config(), item.key(), NameTo::kCheckpoint),
           "' with shape ", item.value().sizes());
  }
}


// What the weights are held in, std::nullopt for each tensor's own dtype (see WeightsDType).
std::optional<DType> held_dtype(WeightsDType d, DType stored, int64_t n_params) {
  switch (d) {
    case WeightsDType::kF32: return DType::kF32;
    case WeightsDType::kF16: return DType::kF16;
    case WeightsDType::kBF16: return DType::kBF16;
    case WeightsDType::kCheckpoint: return std::nullopt;
    case WeightsDType::kAuto: break;
  }
  const int64_t available = available_memory_bytes();
  const bool widen = stored == DType::kF32 || available < 0 || n_params * int64_t(sizeof(float)) <= available / 2;
  return widen ? std::optional<DType>(DType::kF32) : std::nullopt;
}

// The shard files a model.safetensors.index.json names (its weight_map's values), in order.
std::vector<std::string> shard_files(const std::string& index_path, const std::string& model_dir) {
  const nlohmann::json index = nlohmann::json::parse(read_file(index_path, size_t(64) << 20), nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(index_path, "expected a JSON object with a \"weight_map\" of tensor names to shard files");
  std::vector<std::string> files;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos)
      fail(index_path, "weight_map['", name, "'] must be a file name in the model directory");
    const std::string path = model_dir + "/" + shard.get<std::string>();
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  if (files.empty()) fail(index_path, "the weight_map names no shard");
  return files;
}

}  // namespace

Transformer load_transformer(const std::string& model_dir, const std::function<void(ModelConfig&)>& adapt_config,
                             WeightsDType weights_dtype) {
  const std::string config_path = model_dir + "/config.json";
  const std::string weights_path = model_dir + "/model.safetensors";
  const std::string index_path = model_dir + "/model.safetensors.index.json";  // sharded checkpoints
  if (!file_exists(model_dir)) fail(model_dir, "model directory does not exist");
  if (!file_exists(config_path)) fail(config_path, "missing: a model directory holds config.json and model.safetensors");
  const bool sharded = !file_exists(weights_path) && file_exists(index_path);
  if (!sharded && !file_exists(weights_path))
    fail(weights_path, "missing: a model directory holds config.json and model.safetensors (or a sharded "
                       "model.safetensors.index.json)");
  ModelConfig config = load_model_config(config_path);
  if (adapt_config) {
    adapt_config(config);
    config.validate_complete(config_path);
  }
  const std::vector<std::string> paths = sharded ? shard_files(index_path, model_dir) : std::vector<std::string>{weights_path};
  for (const std::string& path : paths)
    if (!file_exists(path)) fail(sharded ? index_path : path, "shard '", path, "' is missing");
  // The dtype the weights will be held in, checked against the memory available before anything
  // is allocated; the first shard's largest tensor stands for the checkpoint's dtype.
  auto first = std::make_shared<const SafetensorsFile>(SafetensorsFile::open(paths.front()));
  const DType stored = [&] {
    const auto& tensors = first->tensors();
    const auto largest = std::max_element(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
      return a.end - a.begin < b.end - b.begin;
    });
    return largest == tensors.end() ? DType::kF32 : largest->dtype;
  }();
  const std::optional<DType> dtype = held_dtype(weights_dtype, stored, config.n_params());
  const DType held = dtype.value_or(stored);
  // Int8 matrices are held as stored (with a float32 scale per 32) or dequantized to `held`.
  const bool int8_checkpoint = config.int8_group_size > 0;
  if (held != DType::kI8) config.int8_group_size = 0;
  const int64_t held_bytes = held == DType::kI8 ? config.n_params() + config.n_params() / kInt8GroupSize * 4
                                                : config.n_params() * int64_t(dtype_size(held));
  check_memory("the weights of " + model_dir, held_bytes,
               held == DType::kF32 ? "use a smaller model or hold the weights in bfloat16 (runtime.dtype)"
                                   : "use a smaller model");
  // Weights held as stored are computed from the file's bytes in place, so those are read into
  // memory of their own rather than mapped (SafetensorsFile::Residency); weights converted at
  // load stay mapped, so that each tensor's pages are dropped once it is copied.
  const auto residency = held == stored ? SafetensorsFile::Residency::kLoaded : SafetensorsFile::Residency::kMapped;
  if (residency == SafetensorsFile::Residency::kLoaded) first.reset();  // only its header was read
  // Built without initialising (every weight is replaced); shard by shard, so a shard whose
  // tensors were converted is unmapped before the next is read.
  Transformer model(config, WeightInit::kNone);
  LoadedTensors loaded;
  for (const std::string& path : paths) {
    auto file = first ? std::move(first)
                      : std::make_shared<const SafetensorsFile>(SafetensorsFile::open(path, residency));
    take_tensors(*model, file, dtype, int8_checkpoint, loaded);
  }
  check_all_loaded(*model, loaded, sharded ? index_path : weights_path);
  model->eval();
  return model;
}

void save_transformer(TransformerImpl& model, const std::string& model_dir, DType dtype) {
  const ModelConfig& c = model.config();
  const bool int8 = dtype == DType::kI8;
  if (int8 && c.num_local_experts > 0) fail(model_dir, "int8 weights are written for dense models only, not a mixture of experts");
  make_directories(model_dir);
  at::NoGradGuard no_grad;
  auto buffers = model.named_buffers(/*recurse=*/true);
  std::vector<at::Tensor> keep_alive;
  std::vector<TensorView> views;
  auto add = [&](const std::string& name, DType type, const at::Tensor& t) {
    keep_alive.push_back(t);
    views.push_back(TensorView{map_tensor_name(c, name, NameTo::kCheckpoint), type, t.sizes().vec(), t.data_ptr()});
  };
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    at::Tensor value = item.value().detach();
    const at::Tensor* scale = buffers.find(item.key() + kInt8ScaleSuffix);
    if (int8 && value.dim() == 2 && scale) {  // already int8: written as it is
      add(item.key(), DType::kI8, value.contiguous());
      add(item.key() + kInt8ScaleSuffix, DType::kF32, scale->contiguous());
      continue;
    }
    if (scale) value = dequantize_int8(value, *scale);
    if (int8 && value.dim() == 2) {
      const at::Tensor w = value.to(at::kFloat).contiguous();
      at::Tensor q = at::empty(w.sizes(), at::kChar), s = at::empty({w.size(0), int8_scale_columns(w.size(1))});
      quantize_int8(w.data_ptr<float>(), w.size(0), w.size(1), q.data_ptr<int8_t>(), s.data_ptr<float>());
      add(item.key(), DType::kI8, q);
      add(item.key() + kInt8ScaleSuffix, DType::kF32, s);
      continue;
    }
    const DType type = int8 ? DType::kF32 : dtype;  // an int8 checkpoint's vectors stay float32
    add(item.key(), type, value.to(scalar_type(type)).contiguous());
  }
  write_safetensors(model_dir + "/model.safetensors", views, {{"format", "pt"}});
  ModelConfig config = c;
  config.torch_dtype = torch_dtype_name(dtype);
  config.int8_group_size = int8 ? kInt8GroupSize : 0;
  write_file_atomic(model_dir + "/config.json", model_config_to_json(config));
}

}  // namespace sculpt
