// Requests of the OpenAI-compatible routes, parsed and checked into the params structs the YAML
// config fills: a pure function of the body, the server's settings and its limits, so that it
// is tested (and fuzzed) without a server. Every problem is an ApiError naming the field.
//
//   GenerationRequest r = parse_generation_request(body, pipeline.config(), limits, Route::kCompletions);
//   pipeline.generate(r.prompt, r.settings, &observer);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/chat_template.h"
#include "hybrid/edit_request.h"
#include "hybrid/pipeline_config.h"
#include "server/api_error.h"

namespace sculpt::server {

enum class Route { kCompletions, kChatCompletions };

// What the server allows one request.
struct RequestLimits {
  int max_tokens = 1024;   // max_tokens above this is refused
  std::string model_name;  // the one model a request may name (or omit)
};

struct GenerationRequest {
  std::string prompt;            // completions: the prompt (chat: empty until the template renders messages)
  std::vector<ChatMessage> messages;  // chat only
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage: a last chunk with usage
  bool stream_revisions = false;   // sculpt.stream_revisions: the draft at once, then its revisions
  PipelineConfig settings;         // the server's pipeline settings with the request's applied
};

// Parses a /v1/completions or /v1/chat/completions body. Throws ApiError: 400 for malformed
// JSON, a field of the wrong type or out of range, an empty prompt, an unsupported OpenAI
// option, an unknown field (top level or inside "sculpt"); 404 for another model's name.
GenerationRequest parse_generation_request(const std::string& body, const PipelineConfig& defaults,
                                           const RequestLimits& limits, Route route);

struct RefineRequest {
  EditRequest edit;
  bool stream = false;       // Server-Sent Events: the document, then its revisions
  PipelineConfig settings;
};

// Parses a /v1/refine body: {"text": ..., "rewrite": [[begin, end], ...], "lock": [[begin, end],
// ...], "require": ["phrase" or {"text", "at"}, ...], "forbid": [...], "continue": N, "context":
// ..., "stream": bool, "sculpt": {...}} (ranges and positions in code points). The plan is
// checked here, so a malformed gap marker, an overlap or a range outside the text is a 400
// naming the field.
RefineRequest parse_refine_request(const std::string& body, const PipelineConfig& defaults, const RequestLimits& limits);

// The "sculpt" extension object applied to `settings` through the typed config loader (strict:
// unknown keys name themselves, with a suggestion). Sets *stream_revisions if given.
void apply_extension(const nlohmann::json& extension, PipelineConfig& settings, bool* stream_revisions);

}  // namespace sculpt::server
