// What the routes share: the request record, JSON and error responses; see routes.h.
#include "server/routes.h"

#include "core/error.h"
#include "hybrid/text_diff.h"
#include "server/request_guard.h"

namespace sculpt::server {

RequestRecord& current_request() {
  thread_local RequestRecord record;
  return record;
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
  if (error.status == 503) res.set_header("Retry-After", "1");
  send_json(res, error.status, error_body(error));
}

ApiError cancelled_error(const std::string& reason) {
  if (reason == "timeout")
    return ApiError{504, "the request took longer than the server's limit (--timeout) and was stopped", "timeout_error", "", ""};
  if (reason == "shutdown") return ApiError{503, "the server is shutting down", "server_busy", "", ""};
  return ApiError{499, "the client closed the connection", "cancelled", "", ""};
}

void respond(httplib::Response& res, const std::function<void()>& handler) {
  try {
    handler();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Cancelled& e) {
    send_error(res, cancelled_error("shutdown"));
  } catch (const Error& e) {
    send_error(res, bad_request(e.what()));
  } catch (const std::bad_alloc&) {
    send_error(res, ApiError{500, "out of memory", "server_error", "", ""});
  } catch (const std::exception& e) {
    send_error(res, ApiError{500, std::string("internal error: ") + e.what(), "server_error", "", ""});
  }
}

// Seconds per stage, forward passes per stage, tokens drafted, re-masked and edited.
nlohmann::json timings_json(const PipelineTrace& t) {
  nlohmann::json seconds = nlohmann::json::object(), passes = nlohmann::json::object();
  int64_t drafted = 0, remasked = 0;
  for (const StageTiming& s : t.stages) {
    seconds[s.name] = s.seconds;
    if (s.n_forward > 0) passes[s.name] = s.n_forward;
    if (s.name == "draft") drafted = s.n_tokens;
    if (s.name == "refine") remasked = s.n_tokens;
  }
  return {{"seconds", t.seconds},      {"stages", seconds},           {"forward_passes", passes},
          {"tokens_drafted", drafted}, {"tokens_remasked", remasked}, {"tokens_edited", int64_t(t.edits.size())}};
}

nlohmann::json edits_json(const std::string& before, const std::string& after) {
  nlohmann::json out = nlohmann::json::array();
  for (const TextChange& c : word_changes_in_code_points(before, after))
    out.push_back({{"old_begin", c.old_begin}, {"old_end", c.old_end}, {"new_begin", c.new_begin}, {"new_end", c.new_end},
                   {"old", c.old_text}, {"new", c.new_text}});
  return out;
}

nlohmann::json usage_json(int64_t n_prompt, int64_t n_generated) {
  return {{"prompt_tokens", n_prompt}, {"completion_tokens", n_generated}, {"total_tokens", n_prompt + n_generated}};
}

namespace {

// Stops the pipeline when the guard says so (answers sent once; streams use CompletionStream).
class Guarded : public PipelineObserver {
 public:
  explicit Guarded(RequestGuard& guard) : guard_(guard) {}
  bool stop_requested() override { return guard_.stop_requested(); }

 private:
  RequestGuard& guard_;
};

void record(ServerContext& ctx, int64_t n_prompt, const PipelineResult& result) {
  ctx.metrics.record_generation(n_prompt, result.trace);
  current_request().tokens = result.trace.n_generated;
}

}  // namespace

PipelineResult run_guarded(ServerContext& ctx, ClientConnection& client, int64_t n_prompt, const PipelineRun& run) {
  RequestGuard guard(client, ctx.params.timeout_s, ctx.stopping);
  Guarded observer(guard);
  PipelineResult result;
  try {
    result = run(observer);
  } catch (const Cancelled&) {
    throw cancelled_error(guard.reason());
  }
  record(ctx, n_prompt, result);
  return result;
}

void stream_response(ServerContext& ctx, httplib::Response& res, CompletionStream::Options options,
                     std::shared_ptr<ClientConnection> client, std::shared_ptr<SlotGate::Lease> lease, int64_t n_prompt,
                     PipelineRun run) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [&ctx, options, client, lease, n_prompt, run](size_t, httplib::DataSink& sink) {
        RequestGuard guard(*client, ctx.params.timeout_s, ctx.stopping);
        CompletionStream stream(options, [&sink](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); },
                                guard);
        stream.start();
        try {
          const PipelineResult result = run(stream);
          record(ctx, n_prompt, result);
          stream.finish(result, usage_json(n_prompt, result.trace.n_generated), timings_json(result.trace),
                        edits_json(result.draft_text, result.text));
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

}  // namespace sculpt::server
