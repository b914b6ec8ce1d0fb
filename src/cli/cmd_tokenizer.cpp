// `sculpt tokenizer train|encode`: train a sentencepiece model; encode with either format.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/tokenizer.h"
#include "train/tokenizer_training.h"
#include "train/train_config.h"

namespace sculpt::cli {
namespace {

int tokenizer_train(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("input", po::value<std::vector<std::string>>()->multitoken()->required(), "plain-text training files")
      ("out", po::value<std::string>()->required(), "output prefix: writes PREFIX.model and PREFIX.vocab");
  po::variables_map vm;
  if (!parse_options(args, "sculpt tokenizer train --input FILE... --out PREFIX [--config FILE] [--set tokenizer.KEY=V]",
                     options, vm))
    return 0;
  TokenizerTrainParams params = read_config<TrainConfig>(vm).tokenizer;
  params.input_files = vm["input"].as<std::vector<std::string>>();
  params.model_prefix = vm["out"].as<std::string>();
  for (const auto& f : params.input_files)
    if (!file_exists(f)) fail(f, "training input does not exist");
  train_tokenizer(params);
  Tokenizer tok = Tokenizer::load(params.model_prefix + ".model");
  std::cout << "wrote " << params.model_prefix << ".model: " << tok.n_vocab() << " pieces, mask id "
            << tok.mask_id() << "\n";
  return 0;
}

int tokenizer_encode(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("model", po::value<std::string>()->required(), "a tokenizer.json, a tokenizer.model or a model directory")
      ("text", po::value<std::string>()->required(), "text to encode")
      ("specials", po::bool_switch(), "add the special tokens the model's tokenizer adds (BOS for Llama, none for Qwen)")
      ("json", po::bool_switch(), "print {\"ids\": [...], \"pieces\": [...]} (and the tokenizer's file and format)");
  po::positional_options_description positional;
  positional.add("text", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt tokenizer encode --model PATH TEXT [--specials] [--json]", options, vm, &positional))
    return 0;
  const Tokenizer tok = Tokenizer::load(vm["model"].as<std::string>());
  const std::string& text = vm["text"].as<std::string>();
  const std::vector<TokenId> ids = vm["specials"].as<bool>() ? tok.encode_with_specials(text) : tok.encode(text);
  if (vm["json"].as<bool>()) {
    std::vector<std::string> pieces;
    for (TokenId id : ids) pieces.push_back(tok.id_to_piece(id));
    const nlohmann::json out = {{"tokenizer", tok.path()}, {"format", tokenizer_format_name(tok.format())},
                                {"ids", ids}, {"pieces", pieces}};
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (TokenId id : ids) std::cout << id << "\t" << tok.id_to_piece(id) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> tokenizer_commands() {
  return {{"tokenizer train", "train a sentencepiece tokenizer ([MASK] reserved, byte fallback)", tokenizer_train},
          {"tokenizer encode", "print the ids and pieces of a text", tokenizer_encode}};
}

}  // namespace sculpt::cli
