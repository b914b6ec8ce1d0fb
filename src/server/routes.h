// The routes of `sculpt serve`, one file per family (routes_completions.cpp, routes_refine.cpp,
// routes_info.cpp), and what they share: the per-request record the log line and metrics read,
// and the one place errors become OpenAI-shaped responses.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/client_connection.h"
#include "server/completion_stream.h"
#include "server/server_context.h"
#include "server/slot_gate.h"

namespace sculpt::server {

// The request this thread serves: set before its handler runs, read by the log line.
struct RequestRecord {
  std::string id;     // "req-<n>"
  int64_t tokens = 0;  // new tokens written
  std::chrono::steady_clock::time_point start;
  std::string note;    // how a stream ended early ("cancelled: client_gone"); "" = as it should
};
RequestRecord& current_request();

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, const ApiError& error);

// Runs `handler`, turning what it throws into one error response: ApiError as it says,
// sculpt::Error (bad input the pipeline found: a prompt too long, a request that would not fit
// in memory) as 400, Cancelled by its reason (504 timeout, 503 shutdown), anything else 500.
void respond(httplib::Response& res, const std::function<void()>& handler);
// The ApiError for a Cancelled request: 504 after a timeout, 503 at shutdown, 499 for a client
// that left (nobody reads it).
ApiError cancelled_error(const std::string& reason);

// Seconds and forward passes per stage, tokens drafted, re-masked and edited (responses' "timings").
nlohmann::json timings_json(const PipelineTrace& trace);
// A draft's changes, word by word, as code point ranges of both texts.
nlohmann::json edits_json(const std::string& before, const std::string& after);
nlohmann::json usage_json(int64_t n_prompt, int64_t n_generated);

// One pipeline call of a request, with `observer` as its events' destination.
using PipelineRun = std::function<PipelineResult(PipelineObserver& observer)>;
// Runs it under the request's guard (client gone, deadline, shutdown) and records its metrics
// and log; a Cancelled call becomes its ApiError.
PipelineResult run_guarded(ServerContext& ctx, ClientConnection& client, int64_t n_prompt, const PipelineRun& run);
// Answers with Server-Sent Events: the call runs inside cpp-httplib's content provider, on the
// connection's thread, each event written as it happens; the slot is held until the end.
void stream_response(ServerContext& ctx, httplib::Response& res, CompletionStream::Options options,
                     std::shared_ptr<ClientConnection> client, std::shared_ptr<SlotGate::Lease> lease, int64_t n_prompt,
                     PipelineRun run);

void add_completion_routes(httplib::Server& server, ServerContext& ctx);
void add_refine_routes(httplib::Server& server, ServerContext& ctx);
void add_info_routes(httplib::Server& server, ServerContext& ctx);
void add_web_routes(httplib::Server& server);
// The editor's page and files (routes_web.cpp): served without the API key.
bool is_web_path(const std::string& path);

}  // namespace sculpt::server
