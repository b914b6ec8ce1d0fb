// The server's errors, in the shape OpenAI's API and its clients use:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code": null}}
// with the HTTP status that goes with them. Route handlers throw ApiError; the server turns it
// (and any sculpt::Error a request caused) into one response built by error_body().
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sculpt::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // invalid_request_error, authentication_error, not_found_error,
                                               // server_busy, timeout_error, server_error
  std::string param;                           // the request field at fault; "" = null
  std::string code;                            // e.g. "model_not_found"; "" = null
};

nlohmann::json error_body(const ApiError& error);

// 400 naming the request field at fault.
inline ApiError bad_request(const std::string& message, const std::string& param = "") {
  return ApiError{400, message, "invalid_request_error", param, ""};
}

}  // namespace sculpt::server
