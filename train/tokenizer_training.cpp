// Training a sentencepiece tokenizer through the shim (core/spm_shim/spm_shim_loader.h).
#include "train/tokenizer_training.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/spm_shim/spm_shim_loader.h"

namespace sculpt {
namespace {

// One comma-separated-list element as sentencepiece's StrSplitAsCSV reads it: quoted, with
// inner quotes doubled, so that paths and pieces may contain commas.
std::string csv_quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const char* model_type_name(TokenizerTrainParams::ModelType type) {
  switch (type) {
    case TokenizerTrainParams::ModelType::kBpe: return "bpe";
    case TokenizerTrainParams::ModelType::kUnigram: return "unigram";
  }
  return "bpe";
}

}  // namespace

int TokenizerTrainParams::min_vocab_size() const {
  const int n_special = 3;  // unk, bos, eos
  return n_special + (mask_piece.empty() ? 0 : 1) + (byte_fallback ? 256 : 0) + 1;
}

void TokenizerTrainParams::validate_complete() const {
  const std::string where = "TokenizerTrainParams";
  if (input_files.empty()) fail(where, "input_files is empty; give at least one text file");
  for (const std::string& file : input_files) {
    if (file.empty()) fail(where, "input_files holds an empty path");
  }
  if (model_prefix.empty()) fail(where, "model_prefix is empty");
  if (vocab_size < min_vocab_size()) {
    fail(where, "vocab_size ", vocab_size, " is below the minimum ", min_vocab_size(),
         " (3 special pieces", mask_piece.empty() ? "" : " + the mask piece",
         byte_fallback ? " + 256 byte pieces" : "", " + 1)");
  }
  if (model_type != ModelType::kBpe && model_type != ModelType::kUnigram) {
    fail(where, "model_type ", static_cast<int>(model_type), " is not a ModelType");
  }
  if (mask_piece.find_first_of(" \t\r\n") != std::string::npos) {
    fail(where, "mask_piece \"", mask_piece, "\" contains whitespace");
  }
  if (mask_piece == "<unk>" || mask_piece == "<s>" || mask_piece == "</s>") {
    fail(where, "mask_piece \"", mask_piece, "\" is already a special piece");
  }
  // sentencepiece's own limits, checked here so the message names our field.
  if (!(character_coverage >= 0.98 && character_coverage <= 1.0)) {
    fail(where, "character_coverage ", character_coverage, " is outside [0.98, 1]");
  }
  if (n_threads < 0 || n_threads > 128) fail(where, "n_threads ", n_threads, " is outside [0, 128]");
  if (max_sentence_length < 10 || max_sentence_length > (1 << 30)) {
    fail(where, "max_sentence_length ", max_sentence_length, " is outside [10, 2^30] bytes");
  }
  if (input_sentence_size < 0) {
    fail(where, "input_sentence_size ", input_sentence_size, " is negative (0 = all)");
  }
}

void train_tokenizer(const TokenizerTrainParams& params) {
  params.validate_complete();
  for (const std::string& file : params.input_files) {
    if (!std::ifstream(file, std::ios::binary)) {
      fail(file, "cannot read tokenizer training input: ", errno_text(errno));
    }
  }
  std::string inputs;
  for (const std::string& file : params.input_files) {
    inputs += (inputs.empty() ? "" : ",") + csv_quote(file);
  }
  const int n_threads =
      params.n_threads > 0
          ? params.n_threads
          : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 128u));

  const std::vector<std::pair<std::string, std::string>> args = {
      {"input", inputs},
      {"model_prefix", params.model_prefix},
      {"model_type", model_type_name(params.model_type)},
      {"vocab_size", std::to_string(params.vocab_size)},
      {"byte_fallback", params.byte_fallback ? "true" : "false"},
      {"character_coverage", str_cat(params.character_coverage)},
      {"num_threads", std::to_string(n_threads)},
      {"max_sentence_length", std::to_string(params.max_sentence_length)},
      {"input_sentence_size", std::to_string(params.input_sentence_size)},
      {"control_symbols", params.mask_piece.empty() ? "" : csv_quote(params.mask_piece)},
      // The Llama convention (see TokenizerTrainParams): text reaches the model as it was typed.
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "true"},
      {"split_digits", "true"},
      {"allow_whitespace_only_pieces", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      // INFO logging would print the whole trainer spec and every merge step.
      {"minloglevel", "1"},
  };
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : args) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  const SpmShim& api = spm_shim();
  char error[kSpmErrorCap] = {};
  if (api.train(keys.data(), values.data(), keys.size(), static_cast<uint32_t>(params.seed), error, sizeof error) !=
      SCULPT_SPM_OK) {
    fail(params.model_prefix + ".model", "tokenizer training failed: ", error);
  }
}

}  // namespace sculpt
