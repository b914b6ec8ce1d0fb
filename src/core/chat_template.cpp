// Chat templates (core/chat_template.h): the variables transformers hands a template, and the
// chat_template field of tokenizer_config.json. The Jinja work is in core/jinja_*.
#include "core/chat_template.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/jinja_parser.h"
#include "core/jinja_render.h"
#include "core/text_check.h"

namespace sculpt {

struct ChatTemplate::Impl {
  jinja::Template ast;
  std::string where;
};

ChatTemplate::ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

ChatTemplate ChatTemplate::parse(const std::string& source, const std::string& where) {
  const int64_t bad = first_invalid_utf8(source);
  if (bad >= 0) fail(where, "the template is not valid UTF-8 (at byte ", bad, ")");
  auto impl = std::make_shared<Impl>();
  impl->ast = jinja::parse_template(source, where);
  impl->where = where;
  return ChatTemplate(std::move(impl));
}

namespace {

void check_utf8(const std::string& where, const std::string& what, const std::string& text) {
  const int64_t bad = first_invalid_utf8(text);
  if (bad >= 0) fail(where, what, " is not valid UTF-8 (at byte ", bad, ")");
}

jinja::Value message_list(const std::string& where, const std::vector<ChatMessage>& messages) {
  std::vector<jinja::Value> list;
  for (size_t i = 0; i < messages.size(); ++i) {
    check_utf8(where, str_cat("messages[", i, "].role"), messages[i].role);
    check_utf8(where, str_cat("messages[", i, "].content"), messages[i].content);
    list.push_back(jinja::Value::dict({{"role", jinja::Value::string(messages[i].role)},
                                       {"content", jinja::Value::string(messages[i].content)}}));
  }
  return jinja::Value::list(std::move(list));
}

// What transformers' render_jinja_template passes: messages, tools and documents (None here),
// add_generation_prompt, the tokenizer's special tokens that are set, and extra flags.
std::vector<std::pair<std::string, jinja::Value>> template_context(
    const std::string& where, const std::vector<ChatMessage>& messages,
    const ChatTemplateOptions& options) {
  std::vector<std::pair<std::string, jinja::Value>> context = {
      {"messages", message_list(where, messages)},
      {"tools", jinja::Value::none()},
      {"documents", jinja::Value::none()},
      {"add_generation_prompt", jinja::Value::boolean(options.add_generation_prompt)}};
  for (const auto& [name, token] :
       {std::pair{"bos_token", &options.bos_token}, {"eos_token", &options.eos_token}}) {
    check_utf8(where, name, *token);
    if (!token->empty()) context.emplace_back(name, jinja::Value::string(*token));
  }
  for (const auto& [name, value] : options.flags) {
    check_utf8(where, "a flag name", name);
    for (const auto& [taken, unused] : context)
      if (name == taken)
        fail(where, "flag '", name, "': the renderer defines this variable itself");
    context.emplace_back(name, jinja::Value::boolean(value));
  }
  return context;
}

}  // namespace

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 const ChatTemplateOptions& options) const {
  return jinja::render_template(impl_->ast, template_context(impl_->where, messages, options),
                                impl_->where);
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json.

namespace {

// Larger than any tokenizer_config.json (they hold a few templates and token tables).
constexpr size_t kMaxConfigBytes = size_t(64) << 20;

nlohmann::json read_tokenizer_config(const std::string& path) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_file(path, kMaxConfigBytes));
  } catch (const nlohmann::json::exception& e) {
    fail(path, "malformed JSON: ", e.what());
  }
  if (!config.is_object()) fail(path, "expected a JSON object, got ", config.type_name());
  return config;
}

// A special token as tokenizer_config.json names it: a string, {"content": ...} or null.
std::string token_string(const std::string& path, const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  fail(path, key, ": expected a string or {\"content\": ...}, got ", it->dump());
}

std::string named_default(const std::string& path, const nlohmann::json& list) {
  std::string names;
  for (const nlohmann::json& entry : list) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string())
      fail(path, "chat_template: a list entry without a string \"name\"");
    const std::string& name = entry["name"].get_ref<const std::string&>();
    if (name == "default") {
      if (!entry.contains("template") || !entry["template"].is_string())
        fail(path, "chat_template: the entry named \"default\" has no string \"template\"");
      return entry["template"].get<std::string>();
    }
    names += (names.empty() ? "" : ", ") + name;
  }
  fail(path, "chat_template: a list of templates (", names, ") with none named \"default\"");
}

}  // namespace

std::string read_chat_template(const std::string& tokenizer_config_path) {
  const std::string& path = tokenizer_config_path;
  const nlohmann::json config = read_tokenizer_config(path);
  const auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) return named_default(path, *it);
  fail(path, "chat_template: expected a string or a list of {name, template}, got ",
       it->type_name());
}

std::string ChatFormat::render(const std::vector<ChatMessage>& messages) const {
  ChatTemplateOptions options;
  options.bos_token = bos_token;
  options.eos_token = eos_token;
  return chat_template.render(messages, options);
}

std::string ChatFormat::prompt(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer) const {
  const std::string text = render(messages);
  if (tokenizer.bos_for_model() < 0) return text;
  const std::string bos = tokenizer.id_to_piece(tokenizer.bos_for_model());
  return text.compare(0, bos.size(), bos) == 0 ? text.substr(bos.size()) : text;
}

std::string chat_role(const std::string& role) {
  for (const char* known : {"system", "user", "assistant", "tool"})
    if (role == known) return role;
  return role == "developer" ? "system" : "";
}

std::optional<ChatFormat> load_chat_format(const std::string& model_dir) {
  const std::string config_path = model_dir + "/tokenizer_config.json";
  const std::string jinja_path = model_dir + "/chat_template.jinja";
  std::error_code ec;
  const bool has_config = std::filesystem::is_regular_file(config_path, ec);
  const bool has_jinja = std::filesystem::is_regular_file(jinja_path, ec);
  const std::string source = has_jinja ? read_file(jinja_path, kMaxConfigBytes)
                                       : has_config ? read_chat_template(config_path) : "";
  if (source.empty()) return std::nullopt;
  ChatFormat format{ChatTemplate::parse(source, has_jinja ? jinja_path : config_path), "", ""};
  if (has_config) {
    const nlohmann::json config = read_tokenizer_config(config_path);
    format.bos_token = token_string(config_path, config, "bos_token");
    format.eos_token = token_string(config_path, config, "eos_token");
  }
  return format;
}

}  // namespace sculpt
