// GET /health, GET /v1/models (with the served settings under "sculpt"), GET /metrics.
#include <algorithm>
#include <ctime>

#include "server/routes.h"

namespace sculpt::server {
namespace {

using nlohmann::json;

// The settings a request's "sculpt" object most often changes, as the server's config sets
// them, in that object's own shape: a client (the editor's settings panel) starts from them.
json served_settings(const ServerContext& ctx) {
  const PipelineConfig& c = ctx.pipeline->config();
  return {{"mode", pipeline_mode_name(c.pipeline.mode)},
          {"max_tokens", std::min(c.pipeline.max_tokens, ctx.params.max_tokens)},
          {"draft", {{"sampler", {{"temperature", c.draft.sampler.temperature}}}}},
          {"spans", {{"max_fraction", c.spans.max_fraction}}},
          {"refine", {{"steps", c.refine.steps}}},
          {"retrieval", {{"enabled", !c.pipeline.index.empty() && (c.pipeline.retrieve_for_prompt || c.pipeline.retrieve_for_refine)}}},
          {"forbid", c.pipeline.forbid}};
}

}  // namespace

void add_info_routes(httplib::Server& server, ServerContext& ctx) {
  // Load balancers and the tests poll it: no key needed; 503 until the pipeline is loaded.
  server.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.ready) send_json(res, 200, {{"status", "ok"}});
    else send_json(res, 503, {{"status", "loading"}});
  });
  server.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    static const int64_t created = int64_t(std::time(nullptr));
    json model = {{"id", ctx.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "sculpt"}};
    if (ctx.ready) model["sculpt"] = served_settings(ctx);
    send_json(res, 200, {{"object", "list"}, {"data", {model}}});
  });
  server.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    ctx.metrics.set_queue(ctx.slots.running(), ctx.slots.waiting());
    res.set_content(ctx.metrics.render(), "text/plain; version=0.0.4");
  });
}

}  // namespace sculpt::server
