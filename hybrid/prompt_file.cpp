// The JSONL prompt-file reader; see prompt_file.h.
#include "hybrid/prompt_file.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sculpt {

std::vector<PromptRecord> read_prompt_file(const std::string& path, int64_t max_prompts) {
  using nlohmann::json;
  std::vector<PromptRecord> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the prompt file: ", errno_text(errno));
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line) && (max_prompts == 0 || int64_t(out.size()) < max_prompts);
       ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = str_cat(path, ":", line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail(where, "not JSON: ", e.what());
    }
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string())
      fail(where, "expected {\"prompt\": \"...\", \"reference\": \"...\" (optional), \"id\": ... (optional)}");
    if (j.contains("reference") && !j["reference"].is_string()) fail(where, "\"reference\" must be a string");
    PromptRecord p;
    p.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : str_cat("line:", line_no);
    p.prompt = j["prompt"].get<std::string>();
    p.reference = j.value("reference", std::string());
    if (p.prompt.empty()) fail(where, "the prompt is empty");
    out.push_back(std::move(p));
  }
  if (out.empty()) fail(path, "no prompt in the file");
  return out;
}

}  // namespace sculpt
