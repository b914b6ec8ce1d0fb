// POST /v1/refine: editing mode over HTTP. A text, optionally the code point ranges to
// rewrite (else the refiner chooses its least confident spans), refine options under "sculpt";
// the answer is the new text and the word-level edit list.
#include "hybrid/text_spans.h"
#include "server/request_guard.h"
#include "server/routes.h"

namespace sculpt::server {
namespace {

using nlohmann::json;

class Guarded : public PipelineObserver {
 public:
  explicit Guarded(RequestGuard& guard) : guard_(guard) {}
  bool stop_requested() override { return guard_.stop_requested(); }

 private:
  RequestGuard& guard_;
};

void refine(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!ctx.ready) throw ApiError{503, "the model is still loading; retry shortly", "server_busy", "", ""};
  const RefineRequest r = parse_refine_request(req.body, ctx.pipeline->config());
  const Tokenizer& tok = ctx.pipeline->tokenizer();
  const std::vector<TokenId> ids = tok.encode(r.text);
  std::vector<Span> spans;
  try {
    spans = token_spans_of(tok, ids, r.text, r.ranges);
  } catch (const Error& e) {
    throw bad_request(e.what(), "rewrite");
  }
  if (!r.ranges.empty() && spans.empty()) throw bad_request("the rewrite ranges cover no token of the text", "rewrite");
  ClientConnection client(req.remote_addr, req.remote_port);
  SlotGate::Lease lease = ctx.slots.enter([&client] { return client.gone(); });
  RequestGuard guard(client, ctx.params.timeout_s, ctx.stopping);
  Guarded observer(guard);
  PipelineResult result;
  try {
    result = ctx.pipeline->refine_text(r.text, spans, r.settings, &observer);
  } catch (const Cancelled&) {
    throw cancelled_error(guard.reason());
  }
  ctx.metrics.record_generation(int64_t(ids.size()), result.trace);
  current_request().tokens = result.trace.n_generated;
  send_json(res, 200, {{"object", "refinement"}, {"model", ctx.model_name}, {"text", result.text},
                       {"edits", edits_json(r.text, result.text)}, {"timings", timings_json(result.trace)}});
}

}  // namespace

void add_refine_routes(httplib::Server& server, ServerContext& ctx) {
  server.Post("/v1/refine", [&ctx](const httplib::Request& req, httplib::Response& res) {
    respond(res, [&] { refine(ctx, req, res); });
  });
}

}  // namespace sculpt::server
