// Prompt files: JSONL, one {"prompt": "...", "id": ... (optional), "reference": "..." (optional)}
// per line; blank lines are skipped. Read by `sculpt ablate` (eval.prompts) and by batch
// generation (`sculpt generate --prompts`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sculpt {

struct PromptRecord {
  std::string id;         // the line's "id" (a string, or other JSON as text), else "line:N"
  std::string prompt;
  std::string reference;  // "" = none
};

// At most max_prompts records (0 = all). Throws Error "<path>:<line>: ..." for a line that is
// not a JSON object with a non-empty string "prompt", and for a file with no prompt at all.
std::vector<PromptRecord> read_prompt_file(const std::string& path, int64_t max_prompts = 0);

}  // namespace sculpt
