// The HTTP server: hooks (ids, log lines, key, CORS), error bodies, routes; see http_server.h.
#include "server/http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "server/routes.h"

namespace sculpt::server {
namespace {

// The key compared in time independent of where the two differ.
bool same_key(const std::string& given, const std::string& key) {
  unsigned char diff = given.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ key[i % key.size()]);
  return diff == 0;
}

const char* status_message(int status) {
  switch (status) {
    case 400: return "the request could not be read (malformed HTTP, or its body did not arrive in time)";
    case 404: return "no such route";
    case 405: return "method not allowed";
    case 413: return "the request body is larger than the server's limit (--max-body-bytes)";
    default: return "request failed";
  }
}

const char* error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 503: return "server_busy";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

HttpServer::HttpServer(const ServerParams& params, const std::string& model_name)
    : ctx_(params), http_(std::make_unique<httplib::Server>()) {
  ctx_.model_name = model_name;
  // Enough threads that health checks, metrics and turning away are never stuck behind
  // generating and waiting requests.
  const size_t threads = size_t(params.parallel + params.queue + 4);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(size_t(params.max_body_bytes));
  http_->set_read_timeout(30);
  http_->set_write_timeout(30);
  install_hooks();
  add_info_routes(*http_, ctx_);
  add_web_routes(*http_);
  add_completion_routes(*http_, ctx_);
  add_refine_routes(*http_, ctx_);
  install_method_guards();
}

HttpServer::~HttpServer() = default;

void HttpServer::install_hooks() {
  static std::atomic<int64_t> next_id{0};
  // Before routing: the request's id, the API key, CORS.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    RequestRecord& record = current_request();
    record = {"req-" + std::to_string(++next_id), 0, std::chrono::steady_clock::now(), ""};
    res.set_header("X-Request-Id", record.id);
    if (!ctx_.params.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", ctx_.params.cors_origin);
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (ctx_.params.api_key.empty() || req.path == "/health" || (req.method == "GET" && is_web_path(req.path))) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.compare(0, prefix.size(), prefix) == 0 && same_key(auth.substr(prefix.size()), ctx_.params.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, ApiError{401, "a valid API key is required: Authorization: Bearer <key>", "authentication_error", "",
                             "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib makes itself (no route, body too large) get the same JSON shape.
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = status_message(res.status);
    // cpp-httplib caps form-encoded bodies at 8 KiB whatever the limit; curl -d sends that type.
    if (res.status == 413 && req.get_header_value("Content-Type") == "application/x-www-form-urlencoded")
      message = "the request body is sent as application/x-www-form-urlencoded, which is limited to 8192 bytes; "
                "send it with Content-Type: application/json";
    send_json(res, res.status, error_body(ApiError{res.status, message, error_type(res.status), "", ""}));
  });
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, ApiError{500, "internal error", "server_error", "", ""});
  });
  // One line per request, after its response (a stream's last byte) went out.
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const RequestRecord& record = current_request();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - record.start).count();
    ctx_.metrics.record_request(req.path, res.status, seconds);
    char line[512];
    std::snprintf(line, sizeof line, "%s %s %s %d %lld tokens %.3f s%s%s", record.id.c_str(), req.method.c_str(),
                  req.path.c_str(), res.status, (long long)record.tokens, seconds, record.note.empty() ? "" : " ",
                  record.note.c_str());
    log_info(line);
  });
}

// The known routes answer other methods with 405 and the methods they take.
void HttpServer::install_method_guards() {
  auto not_allowed = [](const char* allowed) {
    return [allowed](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allowed);
      send_error(res, ApiError{405, "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")",
                               "invalid_request_error", "", ""});
    };
  };
  for (const char* path : {"/v1/completions", "/v1/chat/completions", "/v1/refine"}) {
    http_->Get(path, not_allowed("POST"));
    http_->Put(path, not_allowed("POST"));
    http_->Delete(path, not_allowed("POST"));
    http_->Patch(path, not_allowed("POST"));
  }
  for (const char* path : {"/health", "/v1/models", "/metrics"}) {
    http_->Post(path, not_allowed("GET"));
    http_->Put(path, not_allowed("GET"));
    http_->Delete(path, not_allowed("GET"));
    http_->Patch(path, not_allowed("GET"));
  }
}

int HttpServer::bind() {
  const int port = ctx_.params.port == 0 ? http_->bind_to_any_port(ctx_.params.host)
                                         : (http_->bind_to_port(ctx_.params.host, ctx_.params.port) ? ctx_.params.port : -1);
  if (port < 0) fail(ctx_.params.host + ":" + std::to_string(ctx_.params.port), "cannot listen (in use, or not an address of this machine)");
  return port;
}

void HttpServer::set_pipeline(std::unique_ptr<Pipeline> pipeline) {
  ctx_.pipeline = std::move(pipeline);
  ctx_.ready = true;
}

void HttpServer::set_chat_format(ChatFormat chat) {
  ctx_.chat = std::move(chat);
}

void HttpServer::run() {
  if (!ctx_.stopping) http_->listen_after_bind();
  finished_ = true;
}

void HttpServer::stop() {
  ctx_.stopping = true;
  ctx_.slots.close();
  // cpp-httplib ignores stop() before its loop runs: a stop that comes first (a model that
  // fails to load at once, an early signal) waits for the loop, or for run() to have seen it.
  while (!http_->is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
}

}  // namespace sculpt::server
