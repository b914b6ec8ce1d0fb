// GET /health, GET /v1/models, GET /metrics.
#include <ctime>

#include "server/routes.h"

namespace sculpt::server {

void add_info_routes(httplib::Server& server, ServerContext& ctx) {
  // Load balancers and the tests poll it: no key needed; 503 until the pipeline is loaded.
  server.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.ready) send_json(res, 200, {{"status", "ok"}});
    else send_json(res, 503, {{"status", "loading"}});
  });
  server.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    static const int64_t created = int64_t(std::time(nullptr));
    send_json(res, 200, {{"object", "list"},
                         {"data", {{{"id", ctx.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "sculpt"}}}}});
  });
  server.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    ctx.metrics.set_queue(ctx.slots.running(), ctx.slots.waiting());
    res.set_content(ctx.metrics.render(), "text/plain; version=0.0.4");
  });
}

}  // namespace sculpt::server
