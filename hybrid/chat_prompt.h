// Chat: a conversation written as a pipeline's prompt through the chat template of the model
// that writes first (the drafter's; the refiner's when pipeline.mode is diffusion_only), as
// `sculpt generate --chat` and the server's chat completions do.
//
//   sculpt::ChatPrompt chat = sculpt::chat_prompt(pipeline, {{"system", "Be brief."}, {"user", "Hello!"}});
//   sculpt::PipelineConfig settings = pipeline.config();
//   if (!chat.stop.empty()) settings.draft.stop.push_back(chat.stop);
//   std::string answer = pipeline.generate(chat.prompt, settings).text;
#pragma once

#include <string>
#include <vector>

#include "core/chat_message.h"
#include "hybrid/pipeline.h"
#include "hybrid/pipeline_params.h"

namespace sculpt {

struct ChatPrompt {
  std::string prompt;  // the messages rendered, the assistant's turn opened (BOS left to the tokenizer)
  std::string stop;    // the text that ends the assistant's turn: the template's eos_token ("" if none)
};

// The model directory whose chat template writes a pipeline's conversations: pipeline.drafter,
// or pipeline.refiner when pipeline.mode is diffusion_only.
const std::string& chat_model_dir(const PipelineParams& pipeline);

// Renders `messages` with the chat template of chat_model_dir(pipeline.config().pipeline)
// (chat_template.jinja, else tokenizer_config.json's chat_template) for the pipeline's tokenizer.
// Throws Error naming the directory when it has no chat template, and naming the file for a
// template that cannot be read, parsed or rendered.
ChatPrompt chat_prompt(const Pipeline& pipeline, const std::vector<ChatMessage>& messages);

// Messages from OpenAI-style JSON text: a non-empty list of {"role": ..., "content": "..."} with
// the roles of chat_role(). Throws Error "<where>: ..." for JSON that is malformed, not such a
// list, or has a bad role or content (naming the message).
std::vector<ChatMessage> parse_chat_messages(const std::string& json_text, const std::string& where);

}  // namespace sculpt
