// One generation sent to its client as Server-Sent Events in the chunk format OpenAI clients
// parse (`data: {chunk}` lines, then `data: [DONE]`), built from the pipeline's events.
//
// Two ways to stream a hybrid run, because refinement changes text already drafted:
// - final text only (the default): text is sent when it can no longer change: token by token in
//   AR-only mode, section by section once refined otherwise. Any OpenAI client reads it.
// - with revisions (`"sculpt": {"stream_revisions": true}`): the draft goes out token by token as
//   it is written, then `event: sculpt.spans` says which ranges the refiner will rewrite and
//   `event: sculpt.refine` events change the text already sent: each replaces the range
//   [begin, end) of the text (Unicode code points, counted in the text as every earlier event
//   left it) by `new`. Applied in order, they turn the draft into the final text, which
//   `event: sculpt.done` repeats. Each event's data names its event in "object" as well
//   ("sculpt.refine"), for clients that yield the data without the event name (OpenAI's own
//   npm and Python clients do).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hybrid/pipeline.h"
#include "server/request_guard.h"

namespace sculpt::server {

class CompletionStream : public PipelineObserver {
 public:
  struct Options {
    bool chat = false;            // chat.completion.chunk with deltas, else text_completion
    bool revisions = false;       // stream_revisions
    bool final_tokens = false;    // final-only mode where every drafted token is final (AR only)
    bool include_usage = false;   // a last chunk with usage
    std::string id, model;
    int64_t created = 0;
  };
  // `write` sends bytes to the client and returns false once it cannot.
  CompletionStream(Options options, std::function<bool(const std::string&)> write, RequestGuard& guard);

  bool stop_requested() override { return guard_.stop_requested(); }
  void on_passages(const PassagesEvent& e) override;
  void on_draft_token(const DraftTokenEvent& e) override;
  void on_spans(const SpansEvent& e) override;
  void on_refine_step(const RefineStepEvent& e) override;
  void on_section(const SectionEvent& e) override;

  // Opens the stream (chat: the assistant role).
  void start();
  // The last chunk (finish_reason, and usage when asked), sculpt.done (with `edits`: what the
  // refiner changed, from the draft or the text as sent), then [DONE].
  void finish(const PipelineResult& result, const nlohmann::json& usage, const nlohmann::json& timings,
              const nlohmann::json& edits);
  // An error after the stream started: an error chunk as OpenAI's API sends it, then [DONE].
  void fail(const nlohmann::json& error_body);

  const std::string& text() const { return text_; }  // what the client has been sent, as it now reads

 private:
  void send_text(const std::string& delta, const nlohmann::json& logprobs = nullptr);
  void send_event(const char* name, nlohmann::json data);
  void send(const std::string& bytes);
  // Replaces the texts of section tokens [b, e) and sends the revision.
  void revise(int64_t b, int64_t e, const std::vector<std::string>& texts, const char* kind, const nlohmann::json& step,
              const nlohmann::json& confidence);
  size_t token_offset(int64_t i) const;  // byte offset in text_ of section token i
  nlohmann::json chunk(const nlohmann::json& choice) const;

  Options options_;
  std::function<bool(const std::string&)> write_;
  RequestGuard& guard_;
  std::string text_;                      // the text the client holds
  size_t section_start_ = 0;              // byte offset in text_ of the current section
  std::vector<std::string> token_texts_;  // the current section's tokens, as the client reads them
  std::string pending_;                   // final-only mode: drafted text not final yet
};

}  // namespace sculpt::server
