// libFuzzer target: chat templates (core/chat_template.h) on arbitrary text. Any input must
// parse or throw sculpt::Error; a parsed template must render a fixed conversation or throw
// sculpt::Error. The renderer bounds nesting, loop iterations, steps, value sizes and output,
// so no input may crash, hang or allocate without bound.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/chat_template.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<sculpt::ChatTemplate> tpl;
  try {
    tpl = sculpt::ChatTemplate::parse(text, "fuzz");
  } catch (const sculpt::Error&) {
    return 0;
  }
  static const std::vector<sculpt::ChatMessage> kMessages = {
      {"system", "You are helpful."},
      {"user", "Hello, 世界 🙂 \"quotes\" \\ {{ not a tag }}"},
      {"assistant", "<think>\nreasoning\n</think>\n\nHi!"},
      {"tool", "{\"result\": 42}"},
      {"user", ""},
  };
  sculpt::ChatTemplateOptions options;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.flags["enable_thinking"] = false;
  try {
    tpl->render(kMessages, options);
  } catch (const sculpt::Error&) {
  }
  return 0;
}
