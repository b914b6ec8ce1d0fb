// `sculpt model info|init|export|quantize`: inspect a Hugging Face model directory, create a new
// one with freshly initialised weights, publish a trained one (weights, config, tokenizer; no
// trainer state), or store its matrices in int8 (core/int8_weights.h).
#include <ATen/ATen.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/int8_weights.h"
#include "core/tokenizer.h"
#include "core/tokenizer_files.h"
#include "diffusion_refine/refiner.h"
#include "train/trainer.h"

namespace sculpt::cli {
namespace {

// A model's vocabulary is its tokenizer's: an id of one is an id of the other.
void check_vocab_size(const Tokenizer& tok, const ModelConfig& c, const std::string& dir) {
  if (tok.n_vocab() != c.vocab_size)
    fail(tok.path(), "the tokenizer has ", tok.n_vocab(), " tokens but ", dir, "/config.json says vocab_size ",
         c.vocab_size);
}

int model_info(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("dir", po::value<std::string>()->required(), "model directory (config.json, model.safetensors, tokenizer.json or tokenizer.model)")
      ("json", po::bool_switch(), "print JSON");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt model info DIR [--json]", options, vm, &positional)) return 0;
  const std::string dir = vm["dir"].as<std::string>();

  // Validates config and every tensor; held as stored, so the weights are not read (nor copied).
  Transformer model = load_transformer(dir, {}, WeightsDType::kCheckpoint);
  const ModelConfig& c = model->config();
  const ModelFamily& family = c.family();
  const bool diffusion = c.attention != AttentionMode::kCausal;
  nlohmann::json info;
  info["dir"] = dir;
  info["architecture"] = c.model_type;
  info["family"] = family.name;
  info["attention"] = attention_mode_name(c.attention);
  if (c.attention == AttentionMode::kBlockCausal) info["block_size"] = c.block_size;
  // What a refiner does with it: which position's logits predict a token, and its mask token.
  if (diffusion) info["logits_alignment"] = logits_alignment_name(c.logits_alignment);
  info["mask_token_id"] = c.mask_token_id >= 0 ? nlohmann::json(c.mask_token_id) : nlohmann::json(nullptr);
  info["qk_norm"] = family.qk_norm;
  info["rope_scaling"] = nlohmann::json::parse(model_config_to_json(c)).value("rope_scaling", nlohmann::json());
  info["parameters"] = c.n_params();
  info["active_parameters"] = c.n_active_params();  // per token: top-k experts of each sparse layer
  if (c.num_local_experts > 0)
    info["experts"] = {{"per_layer", c.num_local_experts}, {"per_token", c.num_experts_per_tok},
                       {"sparse_layers", c.n_sparse_layers()}};
  info["dtype"] = c.int8_group_size > 0 ? std::string("int8") : c.torch_dtype;
  info["context_length"] = c.max_position_embeddings;
  info["layers"] = c.num_hidden_layers;
  info["hidden_size"] = c.hidden_size;
  info["intermediate_size"] = c.intermediate_size;
  info["heads"] = c.num_attention_heads;
  info["kv_heads"] = c.n_kv_heads();
  info["head_dim"] = c.n_head_dim();
  info["vocab_size"] = c.vocab_size;
  info["rope_theta"] = c.rope_theta;
  info["tied_embeddings"] = c.tie_word_embeddings;

  // The mask token a refiner runs with (refiner_mask_id): config.json's, else the tokenizer's.
  std::string mask_text = c.mask_token_id >= 0 ? std::to_string(c.mask_token_id) + " (config.json)" : "from the tokenizer";
  if (!find_model_tokenizer_file(dir).empty()) {
    const Tokenizer tok = Tokenizer::load_dir(dir);
    check_vocab_size(tok, c, dir);
    info["tokenizer"] = {{"path", tok.path()},          {"format", tokenizer_format_name(tok.format())},
                         {"pieces", tok.n_vocab()},     {"unk_id", tok.unk_id()},
                         {"bos_id", tok.bos_id()},      {"eos_id", tok.eos_id()},
                         {"pad_id", tok.pad_id()},      {"mask_id", tok.mask_id()},
                         {"adds_bos", tok.bos_for_model() >= 0}};
    if (diffusion) {
      const TokenId mask = refiner_mask_id(c, tok);
      info["refiner_mask_id"] = mask >= 0 ? nlohmann::json(mask) : nlohmann::json(nullptr);
      if (c.mask_token_id < 0)
        mask_text = mask >= 0 ? std::to_string(mask) + " (the tokenizer's '" + tok.id_to_piece(mask) + "')"
                              : "none (config.json and the tokenizer name none)";
    }
  } else {
    info["tokenizer"] = nullptr;
  }

  if (vm["json"].as<bool>()) {
    std::cout << info.dump(2) << "\n";
    return 0;
  }
  std::printf("model        %s\n", dir.c_str());
  std::printf("architecture %s (model_type %s), %s attention", family.name, c.model_type.c_str(),
              attention_mode_name(c.attention));
  if (c.attention == AttentionMode::kBlockCausal) std::printf(" (blocks of %lld)", (long long)c.block_size);
  if (family.qk_norm) std::printf(", q/k norms");
  if (diffusion) {
    const bool shifted = c.logits_alignment == LogitsAlignment::kShifted;
    std::printf("\nrefining     %s logits (the token at i is predicted at %s), mask token ", logits_alignment_name(c.logits_alignment),
                shifted ? "i - 1" : "i");
    std::printf("%s", mask_text.c_str());
  }
  std::printf("\nparameters   %lld (%.2f M), stored as %s\n", (long long)c.n_params(), c.n_params() / 1e6, c.int8_group_size > 0 ? "int8 (a float32 scale per 32 inputs)" : c.torch_dtype.c_str());
  if (c.num_local_experts > 0)
    std::printf("experts      %lld per layer in %lld of %lld layers, %lld per token: %lld (%.2f M) active per token\n",
                (long long)c.num_local_experts, (long long)c.n_sparse_layers(), (long long)c.num_hidden_layers,
                (long long)c.num_experts_per_tok, (long long)c.n_active_params(), c.n_active_params() / 1e6);
  std::printf("shape        %lld layers, hidden %lld, ffn %lld, %lld heads / %lld kv heads of %lld\n",
              (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.intermediate_size,
              (long long)c.num_attention_heads, (long long)c.n_kv_heads(), (long long)c.n_head_dim());
  std::printf("context      %lld tokens, rope theta %g", (long long)c.max_position_embeddings, c.rope_theta);
  if (c.rope_scaling.type == RopeScalingType::kLlama3)
    std::printf(", llama3 scaling (factor %g from %lld positions)", c.rope_scaling.factor,
                (long long)c.rope_scaling.original_max_position_embeddings);
  std::printf("\n");
  std::printf("vocabulary   %lld%s\n", (long long)c.vocab_size, c.tie_word_embeddings ? " (tied embeddings)" : "");
  if (info["tokenizer"].is_null()) {
    std::printf("tokenizer    none (no tokenizer.json or tokenizer.model in the directory)\n");
  } else {
    const auto& t = info["tokenizer"];
    std::printf("tokenizer    %s (%s, %lld tokens): unk %d, bos %d%s, eos %d, pad %d, mask %d\n",
                t["path"].get<std::string>().c_str(), t["format"].get<std::string>().c_str(),
                (long long)t["pieces"].get<int64_t>(), t["unk_id"].get<int>(), t["bos_id"].get<int>(),
                t["adds_bos"].get<bool>() ? " (starts every text)" : "", t["eos_id"].get<int>(), t["pad_id"].get<int>(),
                t["mask_id"].get<int>());
  }
  return 0;
}

int model_init(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("tokenizer", po::value<std::string>()->required(), "the model's tokenizer: a tokenizer.json, a tokenizer.model or a model directory")
      ("out", po::value<std::string>()->required(), "model directory to create")
      ("dtype", po::value<std::string>()->default_value("float32"), "storage dtype: float32, float16, bfloat16");
  po::variables_map vm;
  if (!parse_options(args, "sculpt model init --config FILE --tokenizer PATH --out DIR [--set model.KEY=V]",
                     options, vm))
    return 0;
  const DType dtype = parse_dtype(vm["dtype"].as<std::string>());
  TrainConfig cfg = read_config<TrainConfig>(vm);
  const std::string tok_path = vm["tokenizer"].as<std::string>();
  Tokenizer tok = Tokenizer::load(tok_path);
  ModelConfig& mc = cfg.model;
  if (mc.vocab_size == 0) mc.vocab_size = tok.n_vocab();
  if (mc.vocab_size != tok.n_vocab())
    fail(vm["config"].as<std::string>(), "model.vocab_size ", mc.vocab_size, " differs from the tokenizer's ",
         tok.n_vocab(), " pieces (", tok_path, ")");
  mc.bos_token_id = tok.bos_id();
  mc.eos_token_id = tok.eos_id();
  mc.pad_token_id = tok.pad_id();
  mc.mask_token_id = tok.mask_id();
  mc.validate_complete(vm["config"].as<std::string>().empty() ? "model config" : vm["config"].as<std::string>());

  Transformer model(mc);
  initialise_weights(*model, cfg.runtime.seed);
  const std::string out = vm["out"].as<std::string>();
  save_transformer(*model, out, dtype);
  copy_tokenizer_files(tok_path, out);
  std::printf("wrote %s: %.2f M parameters, %s attention, vocabulary %lld\n", out.c_str(), mc.n_params() / 1e6,
              attention_mode_name(mc.attention), (long long)mc.vocab_size);
  return 0;
}

int model_export(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("dir", po::value<std::string>()->required(), "model directory to export (a training out_dir, say)")
      ("out", po::value<std::string>()->required(), "model directory to write")
      ("dtype", po::value<std::string>()->default_value("float16"), "storage dtype: float32, float16, bfloat16");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt model export DIR --out DIR [--dtype float16]", options, vm, &positional)) return 0;
  const DType dtype = parse_dtype(vm["dtype"].as<std::string>());
  const std::string dir = vm["dir"].as<std::string>(), out = vm["out"].as<std::string>();
  if (dir == out) throw UsageError{"--out must differ from the exported directory"};
  // Validates config and every tensor; held as stored, so the weights are not read (nor copied).
  Transformer model = load_transformer(dir, {}, WeightsDType::kCheckpoint);
  check_vocab_size(Tokenizer::load_dir(dir), model->config(), dir);  // an exported model carries its tokenizer
  save_transformer(*model, out, dtype);
  copy_tokenizer_files(dir, out);
  std::printf("wrote %s: %.2f M parameters stored as %s\n", out.c_str(), model->config().n_params() / 1e6,
              vm["dtype"].as<std::string>().c_str());
  return 0;
}

int model_quantize(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("dir", po::value<std::string>()->required(), "model directory to quantize (float32, float16 or bfloat16)")
      ("out", po::value<std::string>()->required(), "model directory to write");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt model quantize DIR --out DIR", options, vm, &positional)) return 0;
  const std::string dir = vm["dir"].as<std::string>(), out = vm["out"].as<std::string>();
  if (dir == out) throw UsageError{"--out must differ from the quantized directory"};
  const std::string config = dir + "/config.json";  // (a missing one is load_transformer's to report)
  if (file_exists(config) && load_model_config(config).int8_group_size > 0) fail(dir, "is already int8");
  // Held as stored: save_transformer widens one matrix at a time to quantize it, so a bfloat16
  // checkpoint never needs its float32 copy in memory.
  Transformer model = load_transformer(dir, {}, WeightsDType::kCheckpoint);
  check_vocab_size(Tokenizer::load_dir(dir), model->config(), dir);
  save_transformer(*model, out, DType::kI8);
  copy_tokenizer_files(dir, out);
  std::printf("wrote %s: %.2f M parameters, every matrix int8 with a float32 scale per %lld inputs\n", out.c_str(),
              model->config().n_params() / 1e6, (long long)kInt8GroupSize);
  return 0;
}

}  // namespace

std::vector<Command> model_commands() {
  return {{"model info", "describe a model directory: architecture, parameters, tokenizer", model_info},
          {"model init", "create a model directory with freshly initialised weights", model_init},
          {"model export", "copy a model directory without trainer state, weights stored as --dtype", model_export},
          {"model quantize", "copy a model directory with its matrices in int8 (a float32 scale per 32 inputs)",
           model_quantize}};
}

}  // namespace sculpt::cli
