// The files a model directory's tokenizer is made of: which one Tokenizer::load_dir reads, and
// the set that travels with the weights when a model directory is written from another.
#pragma once

#include <string>
#include <vector>

namespace sculpt {

// Every tokenizer file a model directory may hold, in the order they are copied: tokenizer.json,
// tokenizer_config.json, special_tokens_map.json, chat_template.jinja, tokenizer.model.
const std::vector<std::string>& tokenizer_file_names();

// The tokenizer file of a model directory that Tokenizer::load_dir reads: tokenizer.json if the
// directory has one, else tokenizer.model; "" when it has neither.
std::string find_model_tokenizer_file(const std::string& model_dir);

// The same, throwing Error naming the directory and both files when it has neither.
std::string model_tokenizer_file(const std::string& model_dir);

// Writes the tokenizer at `source` into model_dir (created if missing) under a model directory's
// names (each file atomically), and returns the names written. `source` is a model directory (every tokenizer
// file it has), a tokenizer.json (it, and the other tokenizer_file_names() beside it except
// tokenizer.model) or a sentencepiece model (as tokenizer.model). Load it first: this only
// copies.
std::vector<std::string> copy_tokenizer_files(const std::string& source, const std::string& model_dir);

}  // namespace sculpt
