// Corpus readers (see corpus.h).
#include "retrieval/corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/text_check.h"

namespace sculpt {
namespace fs = std::filesystem;

std::vector<Document> read_corpus(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path, "corpus does not exist");
  std::vector<Document> docs;
  if (fs::is_directory(st)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') continue;  // .complete markers, editor files
      if (it->is_regular_file()) files.push_back(it->path());
    }
    if (ec) fail(path, "cannot list the corpus: ", ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      fs::path rel = fs::relative(f, path);
      rel.replace_extension();
      std::string text = read_file(f.string());
      if (const std::string why = not_text_reason(text); !why.empty()) {
        std::cerr << "[index] warning: skipping " << f.string() << ": not UTF-8 text (" << why << ")\n";
        continue;
      }
      docs.push_back(Document{rel.generic_string(), std::move(text)});
    }
  } else {
    std::istringstream in(read_file(path));
    std::string line;
    for (size_t line_no = 1; std::getline(in, line); ++line_no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || !j.contains("id") || !j.contains("text") || !j["text"].is_string() ||
          !(j["id"].is_string() || j["id"].is_number_integer()))
        fail(str_cat(path, ":", line_no), "expected a JSON object {\"id\": ..., \"text\": \"...\"}");
      docs.push_back(Document{j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump(), j["text"].get<std::string>()});
    }
  }
  bool any_text = false;
  for (const Document& d : docs) any_text = any_text || d.text.find_first_not_of(" \t\r\n") != std::string::npos;
  if (!any_text) fail(path, "empty corpus: no document with any text (files that are not UTF-8 text are skipped)");
  return docs;
}

}  // namespace sculpt
