// server/routes: what a handler throws becomes one OpenAI-shaped error with the right status.
#include "server/routes.h"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "core/error.h"
#include "core/memory_guard.h"

namespace sculpt::server {
namespace {

nlohmann::json error_of(const httplib::Response& res) { return nlohmann::json::parse(res.body).at("error"); }

TEST(RespondTest, ApiErrorKeepsItsStatusTypeAndParam) {
  httplib::Response res;
  respond(res, [] { throw bad_request("top_p must be in [0, 1]", "top_p"); });
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
  const auto e = error_of(res);
  EXPECT_EQ(e.at("message"), "top_p must be in [0, 1]");
  EXPECT_EQ(e.at("type"), "invalid_request_error");
  EXPECT_EQ(e.at("param"), "top_p");
  EXPECT_TRUE(e.at("code").is_null());
}

TEST(RespondTest, ARequestThatWouldNotFitInMemoryIsA400SayingWhatToLower) {
  httplib::Response res;
  // A petabyte of cache: the real memory guard refuses it before allocating.
  respond(res, [] { check_memory("kv cache", int64_t(1) << 50, "lower max_tokens"); });
  EXPECT_EQ(res.status, 400);
  const std::string message = error_of(res).at("message");
  EXPECT_NE(message.find("kv cache: needs"), std::string::npos) << message;
  EXPECT_NE(message.find("lower max_tokens"), std::string::npos) << message;
}

TEST(RespondTest, PipelineErrorsAre400AndSurprisesAre500) {
  httplib::Response bad, broken, oom;
  respond(bad, [] { fail("prompt", "is longer than the context"); });
  respond(broken, [] { throw std::runtime_error("boom"); });
  respond(oom, [] { throw std::bad_alloc(); });
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_of(bad).at("message"), "prompt: is longer than the context");
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(error_of(broken).at("type"), "server_error");
  EXPECT_EQ(oom.status, 500);
  EXPECT_EQ(error_of(oom).at("message"), "out of memory");
}

TEST(RespondTest, CancelledRequestsSayWhy) {
  EXPECT_EQ(cancelled_error("timeout").status, 504);
  EXPECT_EQ(cancelled_error("shutdown").status, 503);
  httplib::Response res;
  respond(res, [] { throw Cancelled("stopped"); });
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.get_header_value("Retry-After"), "1");  // a 503 always says when to come back
}

TEST(RespondTest, NoErrorLeavesTheResponseToTheHandler) {
  httplib::Response res;
  respond(res, [&] { send_json(res, 200, {{"ok", true}}); });
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "{\"ok\":true}");
}

}  // namespace
}  // namespace sculpt::server
