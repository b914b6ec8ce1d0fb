// What the routes share: the pipeline (loaded once, used by every request), the server's
// settings and limits, the slots, the metrics, and whether the server is ready or stopping.
#pragma once

#include <atomic>
#include <optional>
#include <memory>
#include <string>

#include "hybrid/pipeline.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/server_params.h"
#include "server/slot_gate.h"

namespace sculpt::server {

struct ServerContext {
  explicit ServerContext(const ServerParams& p) : params(p), slots(p.parallel, p.queue) {}

  ServerParams params;
  std::string model_name;              // what /v1/models lists and requests may name
  std::unique_ptr<Pipeline> pipeline;  // set once loaded (then `ready`)
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};   // shutting down: running requests stop, new ones get 503
  SlotGate slots;
  Metrics metrics;
  // Messages to a prompt: the model's chat template; none = chat completions get 400. Set
  // before the server runs.
  std::optional<ChatFormat> chat;

  RequestLimits limits() const { return {params.max_tokens, model_name}; }
};

}  // namespace sculpt::server
