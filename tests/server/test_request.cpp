// Parsing the server's requests (server/request.h): the OpenAI fields onto the pipeline's
// settings, the "sculpt" extension through the typed config loader, and every refusal as an
// OpenAI-shaped error naming the field.
#include "server/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sculpt::server {
namespace {

using ::testing::HasSubstr;

const RequestLimits kLimits{/*max_tokens=*/256, /*model_name=*/"brown"};

GenerationRequest completion(const std::string& body) {
  return parse_generation_request(body, PipelineConfig{}, kLimits, Route::kCompletions);
}

ApiError error_of(const std::string& body, Route route = Route::kCompletions) {
  try {
    parse_generation_request(body, PipelineConfig{}, kLimits, route);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return {};
}

TEST(RequestTest, OpenAiFieldsSetTheDrafterAndTheLength) {
  const GenerationRequest r = completion(
      R"({"model": "brown", "prompt": "The jury", "max_tokens": 40, "temperature": 0.3, "top_p": 0.9, "seed": 7,
          "stop": ["\n\n", "."], "stream": true, "stream_options": {"include_usage": true}, "user": "u1"})");
  EXPECT_EQ(r.prompt, "The jury");
  EXPECT_EQ(r.settings.pipeline.max_tokens, 40);
  EXPECT_DOUBLE_EQ(r.settings.draft.sampler.temperature, 0.3);
  EXPECT_DOUBLE_EQ(r.settings.draft.sampler.top_p, 0.9);
  EXPECT_EQ(r.settings.draft.sampler.seed, 7);
  EXPECT_EQ(r.settings.draft.stop, (std::vector<std::string>{"\n\n", "."}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.settings.pipeline.mode, PipelineMode::kHybrid);
  // Absent fields keep the server's settings; max_tokens is capped by the server's limit.
  PipelineConfig defaults;
  defaults.pipeline.max_tokens = 1000;
  defaults.draft.sampler.temperature = 0.5;
  const GenerationRequest plain = parse_generation_request(R"({"prompt": ["one prompt"]})", defaults, kLimits, Route::kCompletions);
  EXPECT_EQ(plain.prompt, "one prompt");
  EXPECT_EQ(plain.settings.pipeline.max_tokens, 256);
  EXPECT_DOUBLE_EQ(plain.settings.draft.sampler.temperature, 0.5);
}

TEST(RequestTest, TheSculptObjectGoesThroughTheConfigLoader) {
  const GenerationRequest r = completion(
      R"({"prompt": "x", "stream": true, "sculpt": {"mode": "ar_only", "refine": {"steps": 8, "cache": "spans"},
          "spans": {"max_fraction": 0.2}, "retrieval": {"enabled": false, "k": 2}, "stream_revisions": true}})");
  EXPECT_EQ(r.settings.pipeline.mode, PipelineMode::kArOnly);
  EXPECT_EQ(r.settings.refine.steps, 8);
  EXPECT_EQ(r.settings.refine.cache, RefineCache::kSpans);
  EXPECT_DOUBLE_EQ(r.settings.spans.max_fraction, 0.2);
  EXPECT_FALSE(r.settings.pipeline.retrieve_for_prompt);
  EXPECT_FALSE(r.settings.pipeline.retrieve_for_refine);
  EXPECT_EQ(r.settings.retrieval.k, 2);
  EXPECT_TRUE(r.stream_revisions);
}

TEST(RequestTest, ChatTakesMessages) {
  const GenerationRequest r = parse_generation_request(
      R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "developer", "content": "d"},
                       {"role": "user", "content": "Hi"}], "max_completion_tokens": 9})",
      PipelineConfig{}, kLimits, Route::kChatCompletions);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1].role, "system");  // OpenAI's developer role is the system prompt
  EXPECT_EQ(r.messages[2].content, "Hi");
  EXPECT_EQ(r.settings.pipeline.max_tokens, 9);
}

// Each bad body, the status, what the message says and which field it names.
TEST(RequestTest, BadBodiesGetOneErrorNamingTheField) {
  struct Case {
    std::string body;
    int status;
    std::string says, param;
  };
  const std::vector<Case> cases = {
      {"{bad", 400, "not valid JSON", ""},
      {"[1, 2]", 400, "must be a JSON object", ""},
      {R"({"max_tokens": 3})", 400, "prompt is required", "prompt"},
      {R"({"prompt": ""})", 400, "prompt is empty", "prompt"},
      {R"({"prompt": 5})", 400, "prompt must be a string", "prompt"},
      {R"({"prompt": ["a", "b"]})", 400, "one prompt per request", "prompt"},
      {R"({"prompt": "x", "max_tokens": "5"})", 400, "must be an integer", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 0})", 400, "must be in [1,", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 257})", 400, "above this server's limit of 256", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 2.5})", 400, "must be an integer", "max_tokens"},
      {R"({"prompt": "x", "temperature": -0.1})", 400, "temperature must be in [0, 100]", "temperature"},
      {R"({"prompt": "x", "top_p": 0})", 400, "top_p must be in (0, 1]", "top_p"},
      {R"({"prompt": "x", "seed": -1})", 400, "seed must be in [0,", "seed"},
      {R"({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]})", 400, "at most 4 strings", "stop"},
      {R"({"prompt": "x", "stop": [""]})", 400, "must not be empty", "stop"},
      {R"({"prompt": "x", "stream": "yes"})", 400, "stream must be true or false", "stream"},
      {R"({"prompt": "x", "stream_options": {"include_usage": true}})", 400, "needs stream: true", "stream_options"},
      {R"({"prompt": "x", "n": 3})", 400, "n is not supported (only 1)", "n"},
      {R"({"prompt": "x", "echo": true})", 400, "echo is not supported", "echo"},
      {R"({"prompt": "x", "logprobs": 5})", 400, "logprobs is not supported", "logprobs"},
      {R"({"prompt": "x", "frequency_penalty": 0.5})", 400, "frequency_penalty is not supported", "frequency_penalty"},
      {R"({"prompt": "x", "temprature": 1})", 400, "unrecognized request argument: temprature", "temprature"},
      {R"({"prompt": "x", "model": "gpt-4"})", 404, "'gpt-4' does not exist", "model"},
      {R"({"prompt": "x", "sculpt": 3})", 400, "sculpt must be an object", "sculpt"},
      {R"({"prompt": "x", "sculpt": {"refine": {"stpes": 3}}})", 400, "did you mean 'steps'", "sculpt.refine.stpes"},
      {R"({"prompt": "x", "sculpt": {"refine": {"steps": "3"}}})", 400, "expected an integer", "sculpt.refine.steps"},
      {R"({"prompt": "x", "sculpt": {"refine": {"steps": 0}}})", 400, "must be in [1,", "sculpt.refine.steps"},
      {R"({"prompt": "x", "sculpt": {"mode": "both"}})", 400, "expected one of hybrid, ar_only, diffusion_only", "sculpt.mode"},
      {R"({"prompt": "x", "sculpt": {"refine": {"span_cache": true}}})", 400, "use refine.cache", "sculpt.refine.span_cache"},
      {R"({"prompt": "x", "sculpt": {"pipeline": {"drafter": "/etc"}}})", 400, "unknown key", "sculpt.pipeline"},
      {R"({"prompt": "x", "sculpt": {"stream_revisions": true}})", 400, "needs stream: true", "sculpt.stream_revisions"},
      {R"({"prompt": "x", "sculpt": )" + std::string(40, '[') + std::string(40, ']') + "}", 400, "nests deeper than 16",
       ""},
      {R"({"prompt": "x", "stop": )" + std::string(200000, '[') + "}", 400, "nests deeper than 16", ""},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of(c.body);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_THAT(e.message, HasSubstr(c.says)) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_NE(e.message.rfind("request", 0), 0u) << "the message names the dump, not the field: " << e.message;
  }
  EXPECT_THAT(error_of(R"({"messages": []})", Route::kChatCompletions).message, HasSubstr("non-empty list"));
  EXPECT_THAT(error_of(R"({"messages": [{"role": "wizard", "content": "x"}]})", Route::kChatCompletions).param,
              "messages[0].role");
  EXPECT_THAT(error_of(R"({"messages": [{"role": "user"}]})", Route::kChatCompletions).param, "messages[0].content");
  EXPECT_THAT(error_of(R"({"messages": [{"role": "user", "content": "x"}], "tools": []})", Route::kChatCompletions).param,
              "tools");
}

TEST(RequestTest, RefineTakesTextRangesAndOptions) {
  const RequestLimits limits{256, "pipeline"};
  const RefineRequest r = parse_refine_request(
      R"({"text": "abc def [___:4]", "rewrite": [[0, 3]], "lock": [[4, 7]], "require": ["xy", {"text": "zz", "at": 1}],
          "forbid": ["bad"], "continue": 5, "stream": true, "sculpt": {"refine": {"steps": 2}, "forbid": ["worse"]}})",
      PipelineConfig{}, limits);
  EXPECT_EQ(r.edit.text, "abc def [___:4]");
  ASSERT_EQ(r.edit.rewrite.size(), 1u);
  EXPECT_EQ(r.edit.rewrite[0].begin, 0);
  EXPECT_EQ(r.edit.rewrite[0].end, 3);
  EXPECT_EQ(r.edit.lock[0].begin, 4);
  ASSERT_EQ(r.edit.require.size(), 2u);
  EXPECT_EQ(r.edit.require[0].at, -1);
  EXPECT_EQ(r.edit.require[1].at, 1);
  EXPECT_EQ(r.edit.forbid, std::vector<std::string>{"bad"});
  EXPECT_EQ(r.settings.pipeline.forbid, std::vector<std::string>{"worse"});  // added to the server's list
  EXPECT_EQ(r.edit.continue_tokens, 5);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.settings.refine.steps, 2);
  auto refused = [&](const std::string& body) {
    try {
      parse_refine_request(body, PipelineConfig{}, limits);
    } catch (const ApiError& e) {
      return e.param;
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused(R"({"text": ""})"), "text");
  EXPECT_EQ(refused(R"({"text": "x", "rewrite": [[3, 1]]})"), "rewrite[0]");
  EXPECT_EQ(refused(R"({"text": "x", "rewrite": [[0, "1"]]})"), "rewrite[0]");
  EXPECT_EQ(refused(R"({"text": "x", "path": "/etc/passwd"})"), "path");
  // The plan is checked with the request: each refusal names its field.
  EXPECT_EQ(refused(R"({"text": "abc def", "rewrite": [[0, 5]], "lock": [[4, 7]]})"), "lock[0]");
  EXPECT_EQ(refused(R"({"text": "abc [___:x] def"})"), "text");
  EXPECT_EQ(refused(R"({"text": "abc def", "rewrite": [[0, 99]]})"), "rewrite[0]");
  EXPECT_EQ(refused(R"({"text": "abc def", "require": ["q"]})"), "require[0]");
  EXPECT_EQ(refused(R"({"text": "abc", "forbid": [""]})"), "forbid[0]");
  EXPECT_EQ(refused(R"({"text": "abc", "continue": 999})"), "continue");
  EXPECT_EQ(refused(R"({"text": "abc", "sculpt": {"forbid": [""]}})"), "sculpt.forbid");
  // The server's forbidden phrases stay whatever a request says.
  PipelineConfig server;
  server.pipeline.forbid = {"kept"};
  EXPECT_EQ(parse_refine_request(R"({"text": "a", "sculpt": {"forbid": []}})", server, limits).settings.pipeline.forbid,
            std::vector<std::string>{"kept"});
}

}  // namespace
}  // namespace sculpt::server
