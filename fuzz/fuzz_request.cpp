// libFuzzer target: the server's request parsing (src/server/request.h). Any bytes, as the body
// of /v1/completions, /v1/chat/completions and /v1/refine, must parse into a request within the
// server's limits or throw one ApiError with a 4xx status and a message; nothing else may
// escape (the server would answer 500) and nothing may crash or hang.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/request.h"

namespace {

using sculpt::server::ApiError;

void check_error(const ApiError& e) {
  if (e.status < 400 || e.status > 499 || e.message.empty()) std::abort();
}

template <class Parse>
void parse(Parse&& run) {
  try {
    run();
  } catch (const ApiError& e) {
    check_error(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  static const sculpt::PipelineConfig defaults;
  sculpt::server::RequestLimits limits;
  limits.max_tokens = 64;
  limits.model_name = "pipeline";
  for (auto route : {sculpt::server::Route::kCompletions, sculpt::server::Route::kChatCompletions})
    parse([&] {
      const auto r = sculpt::server::parse_generation_request(body, defaults, limits, route);
      // What the pipeline would be run with is within the limits and passes its own checks.
      if (r.settings.pipeline.max_tokens < 1 || r.settings.pipeline.max_tokens > limits.max_tokens) std::abort();
      if (route == sculpt::server::Route::kCompletions ? r.prompt.empty() : r.messages.empty()) std::abort();
      r.settings.refine.validate();
      r.settings.draft.sampler.validate();
    });
  parse([&] {
    const auto r = sculpt::server::parse_refine_request(body, defaults, limits);
    for (const auto& g : r.edit.rewrite)
      if (g.begin < 0 || g.end <= g.begin) std::abort();
    r.settings.refine.validate();
    sculpt::plan_edit(r.edit);  // accepted requests plan without an error
  });
  return 0;
}
