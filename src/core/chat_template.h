// Chat templates: the Jinja `chat_template` of a Hugging Face tokenizer_config.json, rendered
// byte for byte as transformers' apply_chat_template renders it (jinja2's sandbox with
// trim_blocks and lstrip_blocks, raise_exception, strftime_now, transformers' tojson).
//
//   auto tpl = sculpt::ChatTemplate::parse(sculpt::read_chat_template(path), path);
//   std::string prompt = tpl.render({{"user", "Hello!"}}, {/*add_generation_prompt=*/true});
//
// The renderer implements the Jinja subset that published chat templates use, and refuses the
// rest when parsing, naming the construct and its line:column (never a silently different
// rendering). Supported:
//   - statements: if/elif/else, for (tuple targets, `if` filter, else, loop.*), set (names,
//     tuples, namespace attributes), break/continue, {% generation %}, comments, whitespace
//     control ({%- -%} {%+ +%}); not macro, call, block, extends, include, import, with,
//     filter, raw, `{% set %}` blocks, recursive loops;
//   - expressions: literals (strings with Python escapes, numbers, lists, tuples, dicts with
//     string keys), names, attributes and items, slices, calls, and or not, comparisons,
//     in / not in, + - * / // % ~, `a if b else c`; not **;
//   - filters: abs capitalize count d default first items join last length list lower map
//     reject rejectattr replace reverse select selectattr string title tojson trim upper;
//   - tests: defined undefined none boolean true false integer float number string mapping
//     sequence iterable callable odd even divisibleby eq equalto ne lt lessthan le gt
//     greaterthan ge in lower upper;
//   - globals: namespace, range, dict, raise_exception, strftime_now;
//   - methods: str.startswith endswith split rsplit strip lstrip rstrip upper lower
//     capitalize title replace find count join; dict.get items keys values; loop.cycle changed.
// Known limits, each an error rather than a different result: changing the case of non-ASCII
// letters, printing a list or dict (Python's repr), string formatting with %, integers beyond
// 64 bits. Renders are bounded in loop iterations, steps, nesting and output size.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/chat_message.h"
#include "core/tokenizer.h"

namespace sculpt {

struct ChatTemplateOptions {
  bool add_generation_prompt = true;  // end with the assistant's turn opened
  std::string bos_token;              // as tokenizer_config.json names them ("<|begin_of_text|>");
  std::string eos_token;              // "" leaves the variable undefined, as transformers does
                                      // for a token the tokenizer has not got
  std::map<std::string, bool> flags;  // other boolean variables a template reads (enable_thinking)
};

// A parsed chat template. Immutable once parsed: copies share it, and render may be called
// from several threads at once.
class ChatTemplate {
 public:
  // Parses a template; throws Error "<where>:<line>:<column>: <construct> is not supported ..."
  // for anything outside the subset, and for syntax errors.
  static ChatTemplate parse(const std::string& source, const std::string& where);

  // Renders; throws Error naming `where` for a runtime error (the template's raise_exception,
  // an undefined filter or method, a type error, a limit exceeded), and for messages, tokens or
  // flags that are not valid UTF-8 or clash with the variables the renderer defines.
  std::string render(const std::vector<ChatMessage>& messages,
                     const ChatTemplateOptions& options) const;

 private:
  struct Impl;
  explicit ChatTemplate(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// The chat template of a tokenizer_config.json: the "chat_template" string, or the entry named
// "default" of a list of {name, template}; "" when the file has none. Throws Error naming the
// file for unreadable or malformed JSON (and for a list of templates with no "default").
std::string read_chat_template(const std::string& tokenizer_config_path);

// A model's way of writing a conversation as a prompt: its template and the BOS/EOS strings
// tokenizer_config.json names for it.
struct ChatFormat {
  ChatTemplate chat_template;
  std::string bos_token, eos_token;

  // The messages as a prompt, the assistant's turn opened.
  std::string render(const std::vector<ChatMessage>& messages) const;

  // The same as text for a model whose tokenizer is `tokenizer`: when the tokenizer starts every
  // text with BOS itself (bos_for_model()), a BOS the template writes at the start is left to it,
  // so the model sees BOS once, as transformers' apply_chat_template(tokenize=True) gives it.
  std::string prompt(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer) const;
};

// The chat format of a model directory: chat_template.jinja if present (the file transformers
// saves), else tokenizer_config.json's chat_template; nullopt when it has neither. Throws Error
// naming the file for one that cannot be read or a template outside the supported subset.
std::optional<ChatFormat> load_chat_format(const std::string& model_dir);

}  // namespace sculpt
