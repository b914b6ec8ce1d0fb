// Model directories: save/load round trips per dtype, and strict refusal of mismatched weights.
#include "core/checkpoint.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include "core/transformer.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

ModelConfig small_config(bool tied = false) {
  ModelConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 32;
  c.tie_word_embeddings = tied;
  c.attention_bias = true;
  return c;
}

Transformer random_model(const ModelConfig& c) {
  Transformer m(c);
  at::NoGradGuard no_grad;
  at::manual_seed(7);
  for (auto& p : m->parameters()) p.normal_(0.0, 0.5);
  return m;
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(CheckpointTest, RoundTripEachDtype) {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (bool tied : {false, true}) {
      Transformer model = random_model(small_config(tied));
      sculpt::testing::TempDir temp("sculpt_ckpt");
      const std::string dir = temp.file("m");
      save_transformer(*model, dir, dtype);
      Transformer back = load_transformer(dir);
      // float32 is exact; f16 and bf16 round each weight to 11 and 8 significant bits.
      const double tol = dtype == DType::kF32 ? 0.0 : dtype == DType::kF16 ? 1e-3 : 1e-2;
      auto a = model->named_parameters(), b = back->named_parameters();
      ASSERT_EQ(a.size(), b.size());
      for (const auto& item : a) {
        const at::Tensor& w = item.value();
        const double diff = (w - b[item.key()]).abs().max().item<double>();
        EXPECT_LE(diff, tol * std::max(1.0, w.abs().max().item<double>())) << item.key() << " " << dtype_name(dtype);
      }
      EXPECT_EQ(back->config().tie_word_embeddings, tied);
      SafetensorsFile file = SafetensorsFile::open(dir + "/model.safetensors");
      EXPECT_EQ(file.find("lm_head.weight") != nullptr, !tied);
    }
  }
}

// The address ranges of /proc/self/maps that map `path` (a file-backed mapping names its file).
std::vector<std::pair<uintptr_t, uintptr_t>> mappings_of(const std::string& path) {
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() < path.size() || line.compare(line.size() - path.size(), path.size(), path) != 0) continue;
    const size_t dash = line.find('-'), space = line.find(' ');
    ranges.emplace_back(std::stoull(line.substr(0, dash), nullptr, 16),
                        std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16));
  }
  return ranges;
}

// The line of /proc/self/maps whose range holds `p` ("" if none): its range and, for a mapping
// of a file, the file's path.
std::string region_of(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const size_t dash = line.find('-'), space = line.find(' ');
    if (at >= std::stoull(line.substr(0, dash), nullptr, 16) &&
        at < std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16))
      return line;
  }
  return "";
}

// Expects the tensors `take` picks out of `tensors` (module names, which are the checkpoint's
// here) to lie in memory exactly as the file at `path` lays them out, in one region that is not
// a mapping of the file (the file read into memory): each at the same distance from the first
// as in the file. A tensor copied out of the file's bytes cannot keep that. Returns the region.
std::string expect_file_layout(const torch::OrderedDict<std::string, at::Tensor>& tensors, const std::string& path,
                               const std::function<bool(const at::Tensor&)>& take) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const uint8_t* file_first = nullptr;
  const uint8_t* memory_first = nullptr;
  std::string region;
  int checked = 0;
  for (const auto& item : tensors) {
    if (!take(item.value())) continue;
    const TensorInfo* info = file.find(item.key());
    if (info == nullptr) continue;  // tied: the head is the embedding
    const auto* memory = static_cast<const uint8_t*>(item.value().data_ptr());
    if (file_first == nullptr) {
      file_first = file.data(*info);
      memory_first = memory;
      region = region_of(memory);
      EXPECT_EQ(region.find(path), std::string::npos) << "a mapping of the file, not memory it was read into: " << region;
    }
    EXPECT_EQ(memory - memory_first, file.data(*info) - file_first) << item.key() << " is not where the file has it";
    EXPECT_EQ(region_of(memory), region) << item.key();
    ++checked;
  }
  EXPECT_GT(checked, 1);
  return region;
}

// Weights held as stored are the file's bytes, read once into memory of their own (not mapped:
// SafetensorsFile::Residency) and not copied again; that memory goes with the model.
TEST(CheckpointTest, WeightsInTheCheckpointsDtypeAreTheFilesBytesWithoutACopy) {
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string dir = temp.file("m");
  save_transformer(*random_model(small_config()), dir, DType::kF32);
  const std::string weights = dir + "/model.safetensors";
  const std::string before = read_file(weights, size_t(1) << 20);
  std::string region;
  const void* first_weight = nullptr;
  {
    Transformer model = load_transformer(dir, {}, WeightsDType::kF32);
    region = expect_file_layout(model->named_parameters(), weights, [](const at::Tensor&) { return true; });
    first_weight = model->named_parameters()[0].value().data_ptr();
    EXPECT_TRUE(mappings_of(weights).empty()) << "the file stays mapped beside the memory it was read into";
    // Changing a weight (as merging an adapter does) changes the model, never the file.
    at::NoGradGuard no_grad;
    model->named_parameters()["model.norm.weight"].add_(1.0);
    EXPECT_EQ(read_file(weights, size_t(1) << 20), before);
    // Converted weights are copies, from a mapping of the file that does not outlive the load.
    Transformer narrow = load_transformer(dir, {}, WeightsDType::kBF16);
    for (const auto& item : narrow->named_parameters()) {
      EXPECT_EQ(item.value().scalar_type(), at::kBFloat16) << item.key();
      EXPECT_NE(region_of(item.value().data_ptr()), region) << item.key();
    }
    EXPECT_TRUE(mappings_of(weights).empty()) << "the mapping outlives the load";
  }
  EXPECT_NE(region_of(first_weight), region) << "the weights' memory outlives the model";
}

TEST(CheckpointTest, LowPrecisionWeightsComputeAsTheirFloat32Widening) {
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    for (bool tied : {false, true}) {
      sculpt::testing::TempDir temp("sculpt_ckpt");
      const std::string dir = temp.file("m");
      save_transformer(*random_model(small_config(tied)), dir, dtype);
      Transformer held = load_transformer(dir, {}, WeightsDType::kCheckpoint);
      Transformer wide = load_transformer(dir, {}, WeightsDType::kF32);   // the same values in float32
      // auto widens a model whose float32 copy fits easily, as this one does.
      Transformer widened = load_transformer(dir, {}, WeightsDType::kAuto);
      for (const auto& item : widened->named_parameters()) EXPECT_EQ(item.value().scalar_type(), at::kFloat) << item.key();
      for (const auto& item : held->named_parameters())
        EXPECT_EQ(item.value().scalar_type(), dtype == DType::kF16 ? at::kHalf : at::kBFloat16) << item.key();
      at::NoGradGuard no_grad;
      const at::Tensor tokens = at::randint(0, 40, {2, 7}, at::kLong);
      const at::Tensor logits = held->forward(tokens);
      EXPECT_EQ(logits.scalar_type(), at::kFloat);
      EXPECT_LE((logits - wide->forward(tokens)).abs().max().item<double>(), 1e-5) << dtype_name(dtype) << " tied " << tied;
      // One row at a time (the decoding path) as well.
      const at::Tensor row = tokens.narrow(1, 0, 1);
      EXPECT_LE((held->forward(row) - wide->forward(row)).abs().max().item<double>(), 1e-5);
    }
  }
}

// Sculpt's int8 checkpoints: every matrix I8 with its F32 "_scale" tensor, vectors F32, and
// quantization_config in config.json. Held as stored (kCheckpoint), the int8 matrices are the
// file's bytes in place and compute (dequantized per use) exactly as the same checkpoint dequantized at
// load; written again as int8 they come back bit for bit; and within half a quantization step of
// the float32 weights they were made from.
TEST(CheckpointTest, Int8CheckpointsHoldTheirMatricesAsStoredOrDequantize) {
  for (bool tied : {false, true}) {
    sculpt::testing::TempDir temp("sculpt_ckpt");
    Transformer source = random_model(small_config(tied));
    save_transformer(*source, temp.file("int8"), DType::kI8);
    {
      SafetensorsFile file = SafetensorsFile::open(temp.file("int8") + "/model.safetensors");
      for (const TensorInfo& t : file.tensors()) {
        const bool scale = t.name.size() > 6 && t.name.compare(t.name.size() - 6, 6, "_scale") == 0;
        EXPECT_EQ(t.dtype, t.shape.size() == 2 && !scale ? DType::kI8 : DType::kF32) << t.name;
        if (t.dtype == DType::kI8) {
          ASSERT_NE(file.find(t.name + "_scale"), nullptr) << t.name;
        }
      }
      EXPECT_THAT(read_file(temp.file("int8") + "/config.json", 1 << 16), HasSubstr("\"quant_method\": \"sculpt_int8\""));
    }
    Transformer held = load_transformer(temp.file("int8"), {}, WeightsDType::kCheckpoint);
    Transformer wide = load_transformer(temp.file("int8"), {}, WeightsDType::kF32);
    EXPECT_EQ(held->config().int8_group_size, 32);
    EXPECT_EQ(wide->config().int8_group_size, 0);
    expect_file_layout(held->named_parameters(), temp.file("int8") + "/model.safetensors",
                       [](const at::Tensor& t) { return t.dim() == 2; });
    auto source_params = source->named_parameters();
    for (const auto& item : held->named_parameters()) {
      if (item.value().dim() != 2) continue;
      EXPECT_EQ(item.value().scalar_type(), at::kChar) << item.key();
      const at::Tensor w = wide->named_parameters()[item.key()];
      const at::Tensor step = held->named_buffers()[item.key() + "_scale"];
      EXPECT_EQ(w.scalar_type(), at::kFloat);
      // |dequantized - original| <= scale / 2, group by group, plus float32's rounding of q * scale.
      const at::Tensor original = source_params[item.key()];
      const at::Tensor err = (w - original).abs();
      const at::Tensor half_step = step.repeat_interleave(32, 1).narrow(1, 0, w.size(1)) * 0.5;
      EXPECT_TRUE((err <= half_step * (1 + 1e-6) + original.abs() * 1e-6).all().item<bool>()) << item.key();
    }
    at::NoGradGuard no_grad;
    const at::Tensor tokens = at::randint(0, 40, {2, 7}, at::kLong);
    EXPECT_LE((held->forward(tokens) - wide->forward(tokens)).abs().max().item<double>(), 1e-5) << "tied " << tied;
    const at::Tensor row = tokens.narrow(1, 0, 1);
    EXPECT_LE((held->forward(row) - wide->forward(row)).abs().max().item<double>(), 1e-5);
    // Int8 again, from an int8 model: the same bytes; as float32: the dequantized values.
    save_transformer(*held, temp.file("again"), DType::kI8);
    EXPECT_EQ(read_file(temp.file("again") + "/model.safetensors", size_t(1) << 20),
              read_file(temp.file("int8") + "/model.safetensors", size_t(1) << 20));
    save_transformer(*held, temp.file("f32"), DType::kF32);
    Transformer back = load_transformer(temp.file("f32"));
    for (const auto& item : back->named_parameters())
      EXPECT_TRUE(item.value().equal(wide->named_parameters()[item.key()])) << item.key();
  }
}

TEST(CheckpointTest, Int8FilesThatDisagreeWithTheirConfigAreRefused) {
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string dir = temp.file("m");
  save_transformer(*random_model(small_config()), dir, DType::kI8);
  const std::string config = read_file(dir + "/config.json", 1 << 16);
  // Int8 tensors without quantization_config.
  write_file_atomic(dir + "/config.json", model_config_to_json(small_config()));
  EXPECT_THAT(expect_error([&] { load_transformer(dir, {}, WeightsDType::kCheckpoint); }),
              HasSubstr("is I8, but config.json has no quantization_config"));
  // Another tool's quantization.
  std::string gptq = config;
  gptq.replace(gptq.find("sculpt_int8"), 11, "gptq");
  write_file_atomic(dir + "/config.json", gptq);
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("quant_method 'gptq' is not supported"));
  // A float checkpoint whose config claims int8.
  write_file_atomic(dir + "/config.json", config);
  save_transformer(*random_model(small_config()), temp.file("float"), DType::kF32);
  std::rename((temp.file("float") + "/model.safetensors").c_str(), (dir + "/model.safetensors").c_str());
  EXPECT_THAT(expect_error([&] { load_transformer(dir, {}, WeightsDType::kCheckpoint); }),
              HasSubstr("quantization_config says every matrix is I8"));
  EXPECT_THAT(expect_error([&] { load_transformer(dir, {}, WeightsDType::kF32); }),
              HasSubstr("quantization_config says every matrix is I8"));
}

TEST(CheckpointTest, MissingTensorIsNamed) {
  Transformer model = random_model(small_config());
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string& dir = temp.path();
  save_transformer(*model, dir);
  SafetensorsFile full = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<TensorView> views;
  for (const TensorInfo& t : full.tensors())
    if (t.name != "model.layers.1.mlp.up_proj.weight") views.push_back({t.name, t.dtype, t.shape, full.data(t)});
  write_safetensors(dir + "/model.safetensors", views);  // replaces the file `full` still maps
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }),
              HasSubstr("missing tensor 'model.layers.1.mlp.up_proj.weight'"));
}

TEST(CheckpointTest, WrongShapeAndUnknownTensorAreRefused) {
  Transformer model = random_model(small_config());
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string& dir = temp.path();
  save_transformer(*model, dir);
  // A config that disagrees with the stored shapes.
  ModelConfig wider = small_config();
  wider.intermediate_size = 32;
  write_file_atomic(dir + "/config.json", model_config_to_json(wider));
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("has shape"));
  // A config with fewer layers than the file: the extra layer's tensors are not ours.
  ModelConfig shallower = small_config();
  shallower.num_hidden_layers = 1;
  write_file_atomic(dir + "/config.json", model_config_to_json(shallower));
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("unexpected tensor 'model.layers.1."));
}

TEST(CheckpointTest, ShardedCheckpointsLoadFromTheirIndex) {
  sculpt::testing::TempDir temp("sculpt_shards");
  const std::string dir = temp.path();
  Transformer model = random_model(small_config());
  save_transformer(*model, dir);
  // Split the tensors over two shards with an index, as transformers writes large models.
  SafetensorsFile whole = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<TensorView> first, second;
  std::string weight_map;
  for (const TensorInfo& t : whole.tensors()) {
    const bool in_first = first.size() <= second.size();
    (in_first ? first : second).push_back(TensorView{t.name, t.dtype, t.shape, whole.data(t)});
    weight_map += std::string(weight_map.empty() ? "" : ", ") + "\"" + t.name + "\": \"" +
                  (in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors") + "\"";
  }
  write_safetensors(dir + "/model-00001-of-00002.safetensors", first);
  write_safetensors(dir + "/model-00002-of-00002.safetensors", second);
  write_file_atomic(dir + "/model.safetensors.index.json", "{\"metadata\": {}, \"weight_map\": {" + weight_map + "}}");
  std::remove((dir + "/model.safetensors").c_str());
  Transformer loaded = load_transformer(dir);
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::randint(0, 40, {1, 6}, at::kLong);
  EXPECT_TRUE(at::equal(loaded->forward(tokens), model->forward(tokens)));
  // A shard that is gone, or a tensor in two shards, is refused by name.
  write_safetensors(dir + "/model-00002-of-00002.safetensors", {second[0], first[0]});
  EXPECT_THAT(sculpt::testing::error_message([&] { load_transformer(dir); }),
              HasSubstr("'" + first[0].name + "' is also in"));
  std::remove((dir + "/model-00002-of-00002.safetensors").c_str());
  EXPECT_THAT(sculpt::testing::error_message([&] { load_transformer(dir); }),
              HasSubstr("model-00002-of-00002.safetensors' is missing"));
}

TEST(CheckpointTest, MissingFilesAreNamed) {
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string& dir = temp.path();
  EXPECT_THAT(expect_error([&] { load_transformer(dir + "/nope"); }), HasSubstr("does not exist"));
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("config.json"));
  write_file_atomic(dir + "/config.json", model_config_to_json(small_config()));
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("model.safetensors"));
}

TEST(CheckpointTest, TruncatedWeightsAreAClearError) {
  Transformer model = random_model(small_config());
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string& dir = temp.path();
  save_transformer(*model, dir);
  std::string bytes = read_file(dir + "/model.safetensors");
  write_file_atomic(dir + "/model.safetensors", bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(expect_error([&] { load_transformer(dir); }), HasSubstr("model.safetensors"));
}

TEST(CheckpointTest, SavedFolderLoadsInReferencePython) {
  // The reference reader (tests/reference) parses our file by hand and recomputes the logits.
  if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
  Transformer model = random_model(small_config());
  sculpt::testing::TempDir temp("sculpt_ckpt");
  const std::string& dir = temp.path();
  save_transformer(*model, dir);
  std::string out;
  const std::string script =
      "import json, struct, numpy as np\n"
      "raw = open('" + dir + "/model.safetensors', 'rb').read()\n"
      "n = struct.unpack('<Q', raw[:8])[0]; h = json.loads(raw[8:8+n])\n"
      "cfg = json.load(open('" + dir + "/config.json'))\n"
      "assert cfg['architectures'] == ['LlamaForCausalLM'] and cfg['model_type'] == 'llama'\n"
      "w = h['model.layers.0.self_attn.k_proj.weight']\n"
      "assert w['shape'] == [cfg['num_key_value_heads'] * cfg['head_dim'], cfg['hidden_size']], w\n"
      "b, e = w['data_offsets']; a = np.frombuffer(raw[8+n+b:8+n+e], dtype='<f4')\n"
      "print(repr(float(a[0])))\n";
  ASSERT_EQ(sculpt::testing::run_command(std::string(SCULPT_REFERENCE_PYTHON) + " -c \"" + script + "\"", &out), 0) << out;
  const float want = model->named_parameters()["model.layers.0.self_attn.k_proj.weight"].flatten()[0].item<float>();
  EXPECT_FLOAT_EQ(std::stof(out), want);
}

}  // namespace
}  // namespace sculpt
