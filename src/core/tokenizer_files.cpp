// A model directory's tokenizer files; see tokenizer_files.h.
#include "core/tokenizer_files.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJson = "tokenizer.json";
constexpr const char* kModel = "tokenizer.model";

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool is_json_path(const std::string& path) {
  return fs::path(path).extension() == ".json";
}

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {kJson, "tokenizer_config.json", "special_tokens_map.json",
                                                 "chat_template.jinja", kModel};
  return names;
}

std::string find_model_tokenizer_file(const std::string& model_dir) {
  for (const char* name : {kJson, kModel}) {
    const std::string path = model_dir + "/" + name;
    if (is_file(path)) return path;
  }
  return "";
}

std::string model_tokenizer_file(const std::string& model_dir) {
  std::string path = find_model_tokenizer_file(model_dir);
  if (!path.empty()) return path;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) fail(model_dir, "not a model directory (no such directory)");
  fail(model_dir, "no tokenizer: a model directory needs ", kJson, " or ", kModel);
}

std::vector<std::string> copy_tokenizer_files(const std::string& source, const std::string& model_dir) {
  std::vector<std::pair<std::string, std::string>> copies;  // (from, name)
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const std::string& name : tokenizer_file_names())
      if (is_file(source + "/" + name)) copies.emplace_back(source + "/" + name, name);
  } else if (is_json_path(source)) {
    copies.emplace_back(source, kJson);
    const std::string dir = fs::path(source).parent_path().string();
    for (const std::string& name : tokenizer_file_names()) {
      const std::string beside = (dir.empty() ? "." : dir) + "/" + name;
      if (name != kJson && name != kModel && is_file(beside)) copies.emplace_back(beside, name);
    }
  } else {
    copies.emplace_back(source, kModel);
  }
  fs::create_directories(model_dir, ec);
  if (ec) fail(model_dir, "cannot create directory: ", ec.message());
  std::vector<std::string> names;
  for (const auto& [from, name] : copies) {
    write_file_atomic(model_dir + "/" + name, read_file(from));
    names.push_back(name);
  }
  return names;
}

}  // namespace sculpt
