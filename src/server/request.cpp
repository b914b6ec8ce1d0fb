// Parsing and checking the routes' request bodies; see request.h.
#include "server/request.h"

#include <cctype>
#include <set>

#include "core/config.h"
#include "core/error.h"

namespace sculpt::server {
namespace {

using nlohmann::json;

// The "sculpt" extension object: what a request may change, with the server's settings as the
// starting values. Models, indexes and files come only from the server's config.
struct RetrievalRequest {
  bool enabled = true;  // false = no retrieval for this request
  int k = 5;
  InjectParams inject;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, "retrieve passages for this request (when the server has an index)");
    v.field("k", k, "passages retrieved per query", Range{1, 1000});
    v.section("inject", inject, "passages into the models' context");
  }
};

struct Extension {
  PipelineMode mode = PipelineMode::kHybrid;
  int section_tokens = 0;
  DraftParams draft;
  SpanParams spans;
  RefineParams refine;
  RetrievalRequest retrieval;
  std::vector<std::string> forbid;  // added to the server's pipeline.forbid, never replacing it
  bool stream_revisions = false;

  template <class V>
  void visit(V& v) {
    v.field("mode", mode, "hybrid, ar_only or diffusion_only",
            Choices<PipelineMode>{{"hybrid", PipelineMode::kHybrid},
                                  {"ar_only", PipelineMode::kArOnly},
                                  {"diffusion_only", PipelineMode::kDiffusionOnly}});
    v.field("section_tokens", section_tokens, "new tokens per section; 0 = the server's", Range{0, 1 << 20});
    v.section("draft", draft, "the drafter's decoding");
    v.section("spans", spans, "which draft tokens are re-masked");
    v.section("refine", refine, "the refiner's denoising");
    v.section("retrieval", retrieval, "retrieval for this request");
    v.field("forbid", forbid, "phrases never to write, beside the server's");
    v.field("stream_revisions", stream_revisions, "stream the draft at once, then its revisions as sculpt.refine events");
  }
};

// The loader's root: {"sculpt": {...}}, so that messages name "sculpt.refine.steps".
struct ExtensionRoot {
  Extension sculpt;
  template <class V>
  void visit(V& v) {
    v.section("sculpt", sculpt, "Sculpt's own request fields");
  }
};

// Deeper than any request needs; bounds the recursion of what reads the body afterwards.
constexpr int kMaxDepth = 16;

json parse_body(const std::string& body) {
  bool too_deep = false;
  const json::parser_callback_t depth_check = [&](int depth, json::parse_event_t, json&) {
    too_deep = too_deep || depth > kMaxDepth;
    return !too_deep;  // stop keeping values once too deep
  };
  json j = json::parse(body, depth_check, /*allow_exceptions=*/false);
  if (too_deep) throw bad_request(str_cat("the request body nests deeper than ", kMaxDepth, " levels"));
  if (j.is_discarded()) throw bad_request("the request body is not valid JSON");
  if (!j.is_object()) throw bad_request("the request body must be a JSON object");
  return j;
}

// Refuses a top-level field outside `known` (as OpenAI's API does), naming it.
void check_fields(const json& j, const std::set<std::string>& known) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) throw bad_request("unrecognized request argument: " + it.key(), it.key());
}

std::string string_field(const json& j, const char* key) {
  if (!j.at(key).is_string()) throw bad_request(std::string(key) + " must be a string", key);
  return j.at(key).get<std::string>();
}

// A number field within [lo, hi]; an integer one must be a whole JSON integer.
double number_field(const json& j, const char* key, double lo, double hi, bool integer) {
  const json& v = j.at(key);
  if (integer ? !v.is_number_integer() : !v.is_number())
    throw bad_request(std::string(key) + " must be " + (integer ? "an integer" : "a number"), key);
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) throw bad_request(str_cat(key, " must be in [", lo, ", ", hi, "], got ", v.dump()), key);
  return x;
}

bool bool_field(const json& j, const char* key) {
  if (!j.at(key).is_boolean()) throw bad_request(std::string(key) + " must be true or false", key);
  return j.at(key).get<bool>();
}

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

// OpenAI options Sculpt does not implement: accepted only at the value that means "off".
void refuse_unsupported(const json& j) {
  auto off = [&](const char* key, const json& none) {
    if (present(j, key) && j.at(key) != none)
      throw bad_request(str_cat(key, " is not supported (only ", none.dump(), ")"), key);
  };
  off("n", 1);
  off("best_of", 1);
  off("echo", false);
  off("logprobs", false);
  off("top_logprobs", 0);
  off("presence_penalty", 0);
  off("frequency_penalty", 0);
  off("suffix", "");
  off("logit_bias", json::object());
  for (const char* key : {"tools", "tool_choice", "functions", "function_call", "response_format"})
    if (present(j, key)) throw bad_request(str_cat(key, " is not supported"), key);
}

std::vector<std::string> stop_field(const json& j) {
  const json& v = j.at("stop");
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  else if (v.is_array() && v.size() <= 4)
    for (const json& s : v) {
      if (!s.is_string()) throw bad_request("stop must be a string or a list of at most 4 strings", "stop");
      out.push_back(s.get<std::string>());
    }
  else throw bad_request("stop must be a string or a list of at most 4 strings", "stop");
  for (const std::string& s : out)
    if (s.empty()) throw bad_request("stop strings must not be empty", "stop");
  return out;
}

std::string prompt_field(const json& j) {
  if (!j.contains("prompt")) throw bad_request("prompt is required", "prompt");
  const json& v = j.at("prompt");
  std::string prompt;
  if (v.is_string()) prompt = v.get<std::string>();
  else if (v.is_array() && v.size() == 1 && v[0].is_string()) prompt = v[0].get<std::string>();
  else throw bad_request("prompt must be a string (one prompt per request)", "prompt");
  if (prompt.empty()) throw bad_request("prompt is empty", "prompt");
  return prompt;
}

std::vector<ChatMessage> messages_field(const json& j) {
  if (!j.contains("messages")) throw bad_request("messages is required", "messages");
  const json& v = j.at("messages");
  if (!v.is_array() || v.empty()) throw bad_request("messages must be a non-empty list", "messages");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = str_cat("messages[", i, "]");
    const json& m = v[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw bad_request(where + " must be an object with a string role", where);
    const std::string role = chat_role(m["role"].get<std::string>());
    if (role.empty())
      throw bad_request(where + ".role '" + m["role"].get<std::string>() + "' is not one of " + kChatRoles, where + ".role");
    if (!m.contains("content") || !m["content"].is_string())
      throw bad_request(where + ".content must be a string", where + ".content");
    out.push_back({role, m["content"].get<std::string>()});
  }
  return out;
}

// The OpenAI sampling and length fields onto the settings.
void apply_openai_fields(const json& j, const RequestLimits& limits, Route route, GenerationRequest& r) {
  const char* max_key = route == Route::kChatCompletions && present(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (present(j, max_key)) {
    const int max_tokens = int(number_field(j, max_key, 1, 1e9, /*integer=*/true));
    if (max_tokens > limits.max_tokens)
      throw bad_request(str_cat(max_key, " ", max_tokens, " is above this server's limit of ", limits.max_tokens), max_key);
    r.settings.pipeline.max_tokens = max_tokens;
  } else {
    r.settings.pipeline.max_tokens = std::min(r.settings.pipeline.max_tokens, limits.max_tokens);
  }
  SamplerParams& sampler = r.settings.draft.sampler;
  if (present(j, "temperature")) sampler.temperature = number_field(j, "temperature", 0, 100, false);
  if (present(j, "top_p")) {
    sampler.top_p = number_field(j, "top_p", 0, 1, false);
    if (sampler.top_p == 0) throw bad_request("top_p must be in (0, 1], got 0", "top_p");
  }
  if (present(j, "seed")) sampler.seed = int64_t(number_field(j, "seed", 0, 9.0e15, /*integer=*/true));
  if (present(j, "stop")) r.settings.draft.stop = stop_field(j);
  if (present(j, "stream")) r.stream = bool_field(j, "stream");
  if (present(j, "stream_options")) {
    const json& o = j.at("stream_options");
    if (!o.is_object()) throw bad_request("stream_options must be an object", "stream_options");
    if (!r.stream) throw bad_request("stream_options needs stream: true", "stream_options");
    for (auto it = o.begin(); it != o.end(); ++it)
      if (it.key() != "include_usage") throw bad_request("unrecognized stream option: " + it.key(), "stream_options." + it.key());
    if (o.contains("include_usage")) r.include_usage = bool_field(o, "include_usage");
  }
}

void check_model(const json& j, const RequestLimits& limits) {
  if (!present(j, "model")) return;
  const std::string model = string_field(j, "model");
  if (model != limits.model_name)
    throw ApiError{404, "The model '" + model + "' does not exist (this server serves '" + limits.model_name + "')",
                   "invalid_request_error", "model", "model_not_found"};
}

}  // namespace

void apply_extension(const json& extension, PipelineConfig& settings, bool* stream_revisions) {
  if (!extension.is_object()) throw bad_request("sculpt must be an object", "sculpt");
  ExtensionRoot root;
  Extension& e = root.sculpt;
  e.mode = settings.pipeline.mode;
  e.section_tokens = settings.pipeline.section_tokens;
  e.draft = settings.draft;
  e.spans = settings.spans;
  e.refine = settings.refine;
  e.retrieval.enabled = settings.pipeline.retrieve_for_prompt || settings.pipeline.retrieve_for_refine;
  e.retrieval.k = settings.retrieval.k;
  e.retrieval.inject = settings.retrieval.inject;
  try {
    // JSON is YAML: the object goes through the loader every config goes through.
    load_config_string(json{{"sculpt", extension}}.dump(), "request", root);
  } catch (const Error& error) {
    // "request:3: sculpt.refine: unknown key ..." -> "sculpt.refine: unknown key ...": the line
    // of a dump the client never saw says nothing.
    std::string message = error.what();
    if (message.compare(0, 7, "request") == 0) {
      size_t at = 7;
      if (message.compare(at, 1, ":") == 0 && std::isdigit(uint8_t(message[at + 1])))
        at = message.find_first_not_of("0123456789", at + 1);
      if (at != std::string::npos && message.compare(at, 2, ": ") == 0) message.erase(0, at + 2);
    }
    throw bad_request(message, message.substr(0, message.find(':')));
  }
  settings.pipeline.mode = e.mode;
  settings.pipeline.section_tokens = e.section_tokens;
  const int max_tokens = settings.draft.max_tokens;
  settings.draft = e.draft;
  settings.draft.max_tokens = max_tokens;  // lengths come from max_tokens, not sculpt.draft
  settings.spans = e.spans;
  settings.refine = e.refine;
  if (!e.retrieval.enabled) settings.pipeline.retrieve_for_prompt = settings.pipeline.retrieve_for_refine = false;
  settings.retrieval.k = e.retrieval.k;
  settings.retrieval.inject = e.retrieval.inject;
  for (size_t i = 0; i < e.forbid.size(); ++i) {
    if (e.forbid[i].empty()) throw bad_request(str_cat("sculpt.forbid[", i, "] is empty"), "sculpt.forbid");
    settings.pipeline.forbid.push_back(e.forbid[i]);
  }
  if (stream_revisions) *stream_revisions = e.stream_revisions;
}

GenerationRequest parse_generation_request(const std::string& body, const PipelineConfig& defaults,
                                           const RequestLimits& limits, Route route) {
  const json j = parse_body(body);
  const bool chat = route == Route::kChatCompletions;
  check_fields(j, chat ? std::set<std::string>{"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                                               "top_p", "seed", "stop", "stream", "stream_options", "n", "logprobs",
                                               "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias",
                                               "user", "tools", "tool_choice", "functions", "function_call",
                                               "response_format", "sculpt"}
                       : std::set<std::string>{"model", "prompt", "max_tokens", "temperature", "top_p", "seed", "stop",
                                               "stream", "stream_options", "n", "best_of", "echo", "logprobs",
                                               "presence_penalty", "frequency_penalty", "logit_bias", "suffix", "user",
                                               "sculpt"});
  check_model(j, limits);
  refuse_unsupported(j);
  GenerationRequest r;
  r.settings = defaults;
  if (chat) r.messages = messages_field(j);
  else r.prompt = prompt_field(j);
  if (present(j, "user")) string_field(j, "user");
  if (present(j, "sculpt")) apply_extension(j.at("sculpt"), r.settings, &r.stream_revisions);
  apply_openai_fields(j, limits, route, r);
  if (r.stream_revisions && !r.stream) throw bad_request("sculpt.stream_revisions needs stream: true", "sculpt.stream_revisions");
  return r;
}

namespace {

std::vector<CharRange> ranges_field(const json& j, const char* key) {
  std::vector<CharRange> out;
  if (!present(j, key)) return out;
  const json& v = j.at(key);
  if (!v.is_array()) throw bad_request(str_cat(key, " must be a list of [begin, end] code point ranges"), key);
  for (size_t i = 0; i < v.size(); ++i) {
    const json& range = v[i];
    const std::string where = str_cat(key, "[", i, "]");
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() || !range[1].is_number_integer())
      throw bad_request(where + " must be [begin, end], two integers", where);
    const int64_t b = range[0].get<int64_t>(), e = range[1].get<int64_t>();
    if (b < 0 || e <= b) throw bad_request(str_cat(where, " [", b, ", ", e, "] is empty or negative"), where);
    out.push_back({b, e});
  }
  return out;
}

std::vector<RequiredPhrase> require_field(const json& j) {
  std::vector<RequiredPhrase> out;
  if (!present(j, "require")) return out;
  const json& v = j.at("require");
  if (!v.is_array()) throw bad_request("require must be a list of phrases (strings, or {\"text\", \"at\"})", "require");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = str_cat("require[", i, "]");
    if (v[i].is_string()) {
      out.push_back({v[i].get<std::string>(), -1});
      continue;
    }
    if (!v[i].is_object() || !v[i].contains("text") || !v[i]["text"].is_string())
      throw bad_request(where + " must be a string or {\"text\": ..., \"at\": position}", where);
    check_fields(v[i], {"text", "at"});
    RequiredPhrase p{v[i]["text"].get<std::string>(), -1};
    if (v[i].contains("at")) {
      if (!v[i]["at"].is_number_integer() || v[i]["at"].get<int64_t>() < 0)
        throw bad_request(where + ".at must be a code point position (an integer >= 0)", where);
      p.at = v[i]["at"].get<int64_t>();
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

RefineRequest parse_refine_request(const std::string& body, const PipelineConfig& defaults, const RequestLimits& limits) {
  const json j = parse_body(body);
  check_fields(j, {"model", "text", "rewrite", "lock", "require", "forbid", "continue", "context", "stream", "sculpt"});
  check_model(j, limits);
  RefineRequest r;
  r.settings = defaults;
  EditRequest& e = r.edit;
  if (!j.contains("text")) throw bad_request("text is required", "text");
  e.text = string_field(j, "text");
  e.rewrite = ranges_field(j, "rewrite");
  e.lock = ranges_field(j, "lock");
  e.require = require_field(j);
  if (present(j, "forbid")) {
    const json& v = j.at("forbid");
    if (!v.is_array()) throw bad_request("forbid must be a list of phrases", "forbid");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string() || v[i].get<std::string>().empty())
        throw bad_request(str_cat("forbid[", i, "] must be a non-empty string"), str_cat("forbid[", i, "]"));
      e.forbid.push_back(v[i].get<std::string>());
    }
  }
  if (present(j, "continue")) e.continue_tokens = int(number_field(j, "continue", 0, limits.max_tokens, /*integer=*/true));
  if (present(j, "context")) e.context = string_field(j, "context");
  if (present(j, "stream")) r.stream = bool_field(j, "stream");
  if (e.text.empty() && e.continue_tokens == 0) throw bad_request("text is empty (and nothing to continue)", "text");
  if (present(j, "sculpt")) apply_extension(j.at("sculpt"), r.settings, nullptr);
  try {
    plan_edit(e);
  } catch (const Error& error) {  // "lock[0] 3:9: overlaps ..." names its field first
    const std::string message = error.what();
    const size_t end = message.find_first_of(" [:");
    const std::string key = message.substr(0, end);
    const bool named = key == "rewrite" || key == "lock" || key == "require" || key == "continue";
    throw bad_request(message, named ? message.substr(0, message.find_first_of(" :")) : "text");
  }
  return r;
}

}  // namespace sculpt::server
