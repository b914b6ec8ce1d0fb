// One message of a conversation, as OpenAI's API and chat templates name its parts.
//
//   std::vector<sculpt::ChatMessage> messages = {{"system", "Be brief."}, {"user", "Hello!"}};
//   std::string role = sculpt::chat_role("developer");   // "system"
#pragma once

#include <string>

namespace sculpt {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool"
  std::string content;
};

// The roles a message may have, for error messages.
inline constexpr const char* kChatRoles = "system, user, assistant, tool";

// The role of a message given as `role`: system, user, assistant and tool are themselves,
// "developer" (OpenAI's newer name for a system message) is "system"; "" for anything else.
std::string chat_role(const std::string& role);

}  // namespace sculpt
