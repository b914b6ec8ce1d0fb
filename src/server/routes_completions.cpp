// POST /v1/completions and POST /v1/chat/completions: a request parsed into the pipeline's
// settings, one pipeline call, its events as Server-Sent Events (stream: true) or one JSON
// response with usage and timings.
#include <ctime>

#include "server/routes.h"

namespace sculpt::server {
namespace {

using nlohmann::json;

json response_json(const GenerationRequest& r, Route route, const std::string& id, const std::string& model,
                   int64_t n_prompt, const PipelineResult& result) {
  const bool chat = route == Route::kChatCompletions;
  const char* reason = result.stopped ? "stop" : "length";
  const json choice = chat ? json{{"index", 0}, {"message", {{"role", "assistant"}, {"content", result.text}}},
                                  {"logprobs", nullptr}, {"finish_reason", reason}}
                           : json{{"index", 0}, {"text", result.text}, {"logprobs", nullptr}, {"finish_reason", reason}};
  json body = {{"id", id},
               {"object", chat ? "chat.completion" : "text_completion"},
               {"created", int64_t(std::time(nullptr))},
               {"model", model},
               {"choices", json::array({choice})},
               {"usage", usage_json(n_prompt, result.trace.n_generated)},
               {"timings", timings_json(result.trace)}};
  if (r.settings.pipeline.mode == PipelineMode::kHybrid)
    body["sculpt"] = {{"draft", result.draft_text}, {"edits", edits_json(result.draft_text, result.text)}};
  return body;
}

void generation(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, Route route) {
  if (!ctx.ready) throw ApiError{503, "the model is still loading; retry shortly", "server_busy", "", ""};
  GenerationRequest r = parse_generation_request(req.body, ctx.pipeline->config(), ctx.limits(), route);
  if (route == Route::kChatCompletions) {
    if (!ctx.chat)
      throw bad_request("the model has no chat template (no chat_template.jinja, no chat_template in its "
                        "tokenizer_config.json); use /v1/completions with a prompt", "messages");
    r.prompt = ctx.chat->prompt(r.messages, ctx.pipeline->tokenizer());
    // The assistant's turn ends at the template's end-of-turn text, as a stop string too: a
    // tokenizer without it as a special token writes it as text.
    if (!ctx.chat->eos_token.empty()) r.settings.draft.stop.push_back(ctx.chat->eos_token);
  }
  const int64_t n_prompt = int64_t(ctx.pipeline->tokenizer().encode(r.prompt).size());
  const std::string id = (route == Route::kChatCompletions ? "chatcmpl-" : "cmpl-") + current_request().id;
  auto client = std::make_shared<ClientConnection>(req.remote_addr, req.remote_port);
  auto lease = std::make_shared<SlotGate::Lease>(ctx.slots.enter([client] { return client->gone(); }));
  const PipelineRun run = [&ctx, prompt = r.prompt, settings = r.settings](PipelineObserver& observer) {
    return ctx.pipeline->generate(prompt, settings, &observer);
  };
  if (r.stream) {
    CompletionStream::Options options;
    options.chat = route == Route::kChatCompletions;
    options.revisions = r.stream_revisions;
    options.final_tokens = r.settings.pipeline.mode == PipelineMode::kArOnly;
    options.include_usage = r.include_usage;
    options.id = id;
    options.model = ctx.model_name;
    options.created = int64_t(std::time(nullptr));
    return stream_response(ctx, res, options, client, lease, n_prompt, run);
  }
  const PipelineResult result = run_guarded(ctx, *client, n_prompt, run);
  send_json(res, 200, response_json(r, route, id, ctx.model_name, n_prompt, result));
}

}  // namespace

void add_completion_routes(httplib::Server& server, ServerContext& ctx) {
  server.Post("/v1/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    respond(res, [&] { generation(ctx, req, res, Route::kCompletions); });
  });
  server.Post("/v1/chat/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    respond(res, [&] { generation(ctx, req, res, Route::kChatCompletions); });
  });
}

}  // namespace sculpt::server
