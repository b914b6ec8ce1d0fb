// `sculpt lora info|merge`: describe a LoRA adapter folder (PEFT layout), or fold one into its
// base model's weights and write the merged model directory (core/lora_merge.h).
#include <cstdio>

#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/lora_merge.h"
#include "core/tokenizer_files.h"

namespace sculpt::cli {
namespace {

int lora_info(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("adapter", po::value<std::string>()->required(), "adapter folder (adapter_config.json + adapter_model.safetensors)")
      ("base", po::value<std::string>()->required(), "the base model directory it was made for");
  po::positional_options_description positional;
  positional.add("adapter", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt lora info ADAPTER --base MODEL_DIR", options, vm, &positional)) return 0;
  Transformer model = load_transformer(vm["base"].as<std::string>());
  const LoraAdapterFile adapter = read_lora_adapter(*model, vm["adapter"].as<std::string>());
  const LoraParams& p = adapter.params;
  int64_t n_parameters = 0;
  for (const auto& [layer, ab] : adapter.layers) n_parameters += ab.first.numel() + ab.second.numel();
  std::string targets;
  for (const std::string& t : p.target_modules) targets += (targets.empty() ? "" : ",") + t;
  std::printf("%s: LoRA rank %lld, alpha %g (scaling %g), dropout %g, %zu layers (%s), %lld parameters "
              "(%.2f%% of the base's %.2f M)\n",
              vm["adapter"].as<std::string>().c_str(), (long long)p.rank, p.alpha, p.scaling(), p.dropout,
              adapter.layers.size(), targets.c_str(), (long long)n_parameters,
              100.0 * double(n_parameters) / double(model->config().n_params()), model->config().n_params() / 1e6);
  return 0;
}

int lora_merge(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("base", po::value<std::string>()->required(), "base model directory")
      ("adapter", po::value<std::string>()->required(), "adapter folder made for it")
      ("out", po::value<std::string>()->required(), "merged model directory to write")
      ("dtype", po::value<std::string>()->default_value("float16"), "storage dtype: float32, float16, bfloat16");
  po::variables_map vm;
  if (!parse_options(args, "sculpt lora merge --base MODEL_DIR --adapter ADAPTER --out DIR [--dtype float16]", options, vm))
    return 0;
  const std::string base = vm["base"].as<std::string>(), out = vm["out"].as<std::string>();
  if (out == base) throw UsageError{"--out must differ from --base (the base stays as it is)"};
  const DType dtype = parse_dtype(vm["dtype"].as<std::string>());
  model_tokenizer_file(base);  // the merged model carries its base's tokenizer: it must have one
  Transformer model = load_transformer(base);
  const LoraAdapterFile adapter = read_lora_adapter(*model, vm["adapter"].as<std::string>());
  merge_lora_adapter(*model, adapter);
  const size_t n_layers = adapter.layers.size();
  save_transformer(*model, out, dtype);
  copy_tokenizer_files(base, out);
  std::printf("wrote %s: %s with %zu adapted layers merged, stored as %s\n", out.c_str(), base.c_str(), n_layers,
              vm["dtype"].as<std::string>().c_str());
  return 0;
}

}  // namespace

std::vector<Command> lora_commands() {
  return {{"lora info", "describe a LoRA adapter (PEFT layout) against its base model", lora_info},
          {"lora merge", "fold a LoRA adapter into its base model's weights and write the merged model", lora_merge}};
}

}  // namespace sculpt::cli
