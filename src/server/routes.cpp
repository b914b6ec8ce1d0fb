// What the routes share: the request record, JSON and error responses; see routes.h.
#include "server/routes.h"

#include "core/error.h"

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

}  // namespace sculpt::server
