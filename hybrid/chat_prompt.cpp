// Chat prompts for a pipeline; see chat_prompt.h.
#include "hybrid/chat_prompt.h"

#include <nlohmann/json.hpp>

#include "core/chat_template.h"
#include "core/error.h"

namespace sculpt {

const std::string& chat_model_dir(const PipelineParams& pipeline) {
  return pipeline.drafts() ? pipeline.drafter : pipeline.refiner;
}

ChatPrompt chat_prompt(const Pipeline& pipeline, const std::vector<ChatMessage>& messages) {
  const std::string& dir = chat_model_dir(pipeline.config().pipeline);
  const std::optional<ChatFormat> format = load_chat_format(dir);
  if (!format)
    fail(dir, "the model has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json)");
  return {format->prompt(messages, pipeline.tokenizer()), format->eos_token};
}

std::vector<ChatMessage> parse_chat_messages(const std::string& json_text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail(where, "not valid JSON: ", e.what());
  }
  if (!j.is_array() || j.empty())
    fail(where, "expected a non-empty list of messages [{\"role\": ..., \"content\": ...}], got ",
         j.is_array() ? "an empty list" : j.type_name());
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& m = j[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail(where, "messages[", i, "]: expected an object with a string \"role\"");
    const std::string role = chat_role(m["role"].get<std::string>());
    if (role.empty())
      fail(where, "messages[", i, "].role: '", m["role"].get<std::string>(), "' is not one of ", kChatRoles);
    if (!m.contains("content") || !m["content"].is_string())
      fail(where, "messages[", i, "].content: expected a string");
    out.push_back({role, m["content"].get<std::string>()});
  }
  return out;
}

}  // namespace sculpt
