// POST /v1/completions and POST /v1/chat/completions: a request parsed into the pipeline's
// settings, one pipeline call, its events as Server-Sent Events (stream: true) or one JSON
// response with usage and timings.
#include <ctime>

#include "hybrid/text_diff.h"
#include "hybrid/text_spans.h"
#include "server/completion_stream.h"
#include "server/request_guard.h"
#include "server/routes.h"

namespace sculpt::server {
namespace {

using nlohmann::json;

// Stops the pipeline when the guard says so (non-streaming requests; streams use CompletionStream).
class Guarded : public PipelineObserver {
 public:
  explicit Guarded(RequestGuard& guard) : guard_(guard) {}
  bool stop_requested() override { return guard_.stop_requested(); }

 private:
  RequestGuard& guard_;
};

json usage_json(int64_t n_prompt, const PipelineResult& r) {
  return {{"prompt_tokens", n_prompt}, {"completion_tokens", r.trace.n_generated},
          {"total_tokens", n_prompt + r.trace.n_generated}};
}

}  // namespace

// Seconds per stage, forward passes per stage, tokens drafted, re-masked and edited.
json timings_json(const PipelineTrace& t) {
  json seconds = json::object(), passes = json::object();
  int64_t drafted = 0, remasked = 0;
  for (const StageTiming& s : t.stages) {
    seconds[s.name] = s.seconds;
    if (s.n_forward > 0) passes[s.name] = s.n_forward;
    if (s.name == "draft") drafted = s.n_tokens;
    if (s.name == "refine") remasked = s.n_tokens;
  }
  return {{"seconds", t.seconds},          {"stages", seconds},         {"forward_passes", passes},
          {"tokens_drafted", drafted},     {"tokens_remasked", remasked}, {"tokens_edited", int64_t(t.edits.size())}};
}

// The refiner's changes to a draft, word by word, as code point ranges of both texts.
json edits_json(const std::string& before, const std::string& after) {
  json out = json::array();
  for (const TextChange& c : word_changes(before, after))
    out.push_back({{"old_begin", code_point_offset(before, c.old_begin)}, {"old_end", code_point_offset(before, c.old_end)},
                   {"new_begin", code_point_offset(after, c.new_begin)}, {"new_end", code_point_offset(after, c.new_end)},
                   {"old", c.old_text}, {"new", c.new_text}});
  return out;
}

namespace {

json response_json(const GenerationRequest& r, Route route, const std::string& id, const std::string& model,
                   int64_t n_prompt, const PipelineResult& result) {
  const bool chat = route == Route::kChatCompletions;
  const char* reason = result.stopped ? "stop" : "length";
  const json choice = chat ? json{{"index", 0}, {"message", {{"role", "assistant"}, {"content", result.text}}},
                                  {"logprobs", nullptr}, {"finish_reason", reason}}
                           : json{{"index", 0}, {"text", result.text}, {"logprobs", nullptr}, {"finish_reason", reason}};
  json body = {{"id", id},       {"object", chat ? "chat.completion" : "text_completion"}, {"created", int64_t(std::time(nullptr))},
               {"model", model}, {"choices", json::array({choice})}, {"usage", usage_json(n_prompt, result)},
               {"timings", timings_json(result.trace)}};
  if (r.settings.pipeline.mode == PipelineMode::kHybrid)
    body["sculpt"] = {{"draft", result.draft_text}, {"edits", edits_json(result.draft_text, result.text)}};
  return body;
}

// The streamed response: generation runs inside cpp-httplib's content provider, on the
// connection's thread, writing each event as it happens.
void stream_response(ServerContext& ctx, httplib::Response& res, GenerationRequest r, Route route,
                     std::shared_ptr<ClientConnection> client, std::shared_ptr<SlotGate::Lease> lease) {
  const std::string id = (route == Route::kChatCompletions ? "chatcmpl-" : "cmpl-") + current_request().id;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [&ctx, r, route, client, lease, id](size_t, httplib::DataSink& sink) {
    RequestGuard guard(*client, ctx.params.timeout_s, ctx.stopping);
    CompletionStream::Options options;
    options.chat = route == Route::kChatCompletions;
    options.revisions = r.stream_revisions;
    options.final_tokens = r.settings.pipeline.mode == PipelineMode::kArOnly;
    options.include_usage = r.include_usage;
    options.id = id;
    options.model = ctx.model_name;
    options.created = int64_t(std::time(nullptr));
    CompletionStream stream(options, [&sink](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); },
                            guard);
    stream.start();
    try {
      const PipelineResult result = ctx.pipeline->generate(r.prompt, r.settings, &stream);
      const int64_t n_prompt = int64_t(ctx.pipeline->tokenizer().encode(r.prompt).size());
      ctx.metrics.record_generation(n_prompt, result.trace);
      current_request().tokens = result.trace.n_generated;
      stream.finish(result, usage_json(n_prompt, result), timings_json(result.trace));
    } catch (const Cancelled&) {
      current_request().note = "cancelled: " + guard.reason();
      if (guard.reason() != "client_gone") stream.fail(error_body(cancelled_error(guard.reason())));
    } catch (const Error& e) {
      stream.fail(error_body(bad_request(e.what())));
    } catch (const std::exception& e) {
      stream.fail(error_body(ApiError{500, std::string("internal error: ") + e.what(), "server_error", "", ""}));
    }
    sink.done();
    return true;
  });
}

void generation(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, Route route) {
  if (!ctx.ready) throw ApiError{503, "the model is still loading; retry shortly", "server_busy", "", ""};
  GenerationRequest r = parse_generation_request(req.body, ctx.pipeline->config(), ctx.limits(), route);
  if (route == Route::kChatCompletions) {
    if (!ctx.chat)
      throw bad_request("the model has no chat template (no chat_template.jinja, no chat_template in its "
                        "tokenizer_config.json); use /v1/completions with a prompt", "messages");
    r.prompt = ctx.chat->render(r.messages);
    // The assistant's turn ends at the template's end-of-turn text, as a stop string too: a
    // tokenizer without it as a special token writes it as text.
    if (!ctx.chat->eos_token.empty()) r.settings.draft.stop.push_back(ctx.chat->eos_token);
  }
  auto client = std::make_shared<ClientConnection>(req.remote_addr, req.remote_port);
  auto lease = std::make_shared<SlotGate::Lease>(ctx.slots.enter([client] { return client->gone(); }));
  if (r.stream) return stream_response(ctx, res, std::move(r), route, client, lease);
  RequestGuard guard(*client, ctx.params.timeout_s, ctx.stopping);
  Guarded observer(guard);
  PipelineResult result;
  try {
    result = ctx.pipeline->generate(r.prompt, r.settings, &observer);
  } catch (const Cancelled&) {
    throw cancelled_error(guard.reason());
  }
  const int64_t n_prompt = int64_t(ctx.pipeline->tokenizer().encode(r.prompt).size());
  ctx.metrics.record_generation(n_prompt, result.trace);
  current_request().tokens = result.trace.n_generated;
  const std::string id = (route == Route::kChatCompletions ? "chatcmpl-" : "cmpl-") + current_request().id;
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
