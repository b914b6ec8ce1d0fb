// POST /v1/refine: editing over HTTP (Pipeline::edit). A text with its gap markers, the code
// point ranges to rewrite and to lock, phrases to require and to forbid, tokens to continue,
// refine options under "sculpt"; the answer is the new text and the word-level edit list, or
// with stream: true the document and then its revisions as Server-Sent Events.
#include <ctime>

#include "server/routes.h"

namespace sculpt::server {
namespace {

void refine(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!ctx.ready) throw ApiError{503, "the model is still loading; retry shortly", "server_busy", "", ""};
  const RefineRequest r = parse_refine_request(req.body, ctx.pipeline->config(), ctx.limits());
  const int64_t n_prompt = int64_t(ctx.pipeline->tokenizer().encode(r.edit.context + r.edit.text).size());
  auto client = std::make_shared<ClientConnection>(req.remote_addr, req.remote_port);
  auto lease = std::make_shared<SlotGate::Lease>(ctx.slots.enter([client] { return client->gone(); }));
  const PipelineRun run = [&ctx, edit = r.edit, settings = r.settings](PipelineObserver& observer) {
    PipelineResult result = ctx.pipeline->edit(edit, settings, &observer);
    result.draft_text = edit.text;  // edits are reported against the text as sent (a continuation's draft included)
    return result;
  };
  if (r.stream) {
    CompletionStream::Options options;
    options.revisions = true;  // the document goes out first, then every change to it
    options.id = "refine-" + current_request().id;
    options.model = ctx.model_name;
    options.created = int64_t(std::time(nullptr));
    return stream_response(ctx, res, options, client, lease, n_prompt, run);
  }
  const PipelineResult result = run_guarded(ctx, *client, n_prompt, run);
  send_json(res, 200, {{"object", "refinement"}, {"model", ctx.model_name}, {"text", result.text},
                       {"edits", edits_json(result.draft_text, result.text)}, {"timings", timings_json(result.trace)}});
}

}  // namespace

void add_refine_routes(httplib::Server& server, ServerContext& ctx) {
  server.Post("/v1/refine", [&ctx](const httplib::Request& req, httplib::Response& res) {
    respond(res, [&] { refine(ctx, req, res); });
  });
}

}  // namespace sculpt::server
