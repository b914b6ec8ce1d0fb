// Pipeline events as OpenAI-format Server-Sent Events; see completion_stream.h.
#include "server/completion_stream.h"

#include <algorithm>

#include "hybrid/text_spans.h"

namespace sculpt::server {

using nlohmann::json;

CompletionStream::CompletionStream(Options options, std::function<bool(const std::string&)> write, RequestGuard& guard)
    : options_(std::move(options)), write_(std::move(write)), guard_(guard) {}

void CompletionStream::send(const std::string& bytes) {
  write_(bytes);  // a client that left is noticed by the guard, between forward passes
}

json CompletionStream::chunk(const json& choice) const {
  return {{"id", options_.id},
          {"object", options_.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", options_.created},
          {"model", options_.model},
          {"choices", json::array({choice})}};
}

void CompletionStream::send_text(const std::string& delta, const json& logprobs) {
  if (delta.empty()) return;
  text_ += delta;
  const json choice = options_.chat
                          ? json{{"index", 0}, {"delta", {{"content", delta}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}
                          : json{{"index", 0}, {"text", delta}, {"logprobs", logprobs}, {"finish_reason", nullptr}};
  send("data: " + chunk(choice).dump() + "\n\n");
}

void CompletionStream::send_event(const char* name, json data) {
  // The name in the data too: OpenAI's clients drop SSE event names and yield the data alone.
  data["object"] = name;
  send(std::string("event: ") + name + "\ndata: " + data.dump() + "\n\n");
}

void CompletionStream::start() {
  if (options_.chat)
    send("data: " + chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                           {"finish_reason", nullptr}}).dump() + "\n\n");
}

void CompletionStream::on_passages(const PassagesEvent& e) {
  if (!options_.revisions || e.passages.empty()) return;
  json passages = json::array();
  for (const InjectedPassage& p : e.passages)
    passages.push_back({{"doc_id", p.doc_id}, {"score", p.score}, {"text", p.text}, {"truncated", p.truncated}});
  send_event("sculpt.passages", {{"stage", e.stage}, {"passages", passages}});
}

void CompletionStream::on_draft_token(const DraftTokenEvent& e) {
  if (e.index == 0) {  // a new section starts where the text so far ends
    section_start_ = text_.size() + pending_.size();
    token_texts_.clear();
  }
  token_texts_.push_back(e.text);
  // With revisions, each drafted token carries the drafter's log-probability (OpenAI's
  // completions logprobs shape), for a reader that shows how sure the drafter was.
  const json logprobs = options_.revisions && e.drafted
                            ? json{{"tokens", {e.text}}, {"token_logprobs", {e.logprob}}}
                            : json(nullptr);
  if (options_.revisions || options_.final_tokens) send_text(e.text, logprobs);
  else pending_ += e.text;
}

size_t CompletionStream::token_offset(int64_t i) const {
  size_t at = section_start_;
  for (int64_t j = 0; j < i && j < int64_t(token_texts_.size()); ++j) at += token_texts_[size_t(j)].size();
  return at;
}

void CompletionStream::revise(int64_t b, int64_t e, const std::vector<std::string>& texts, const char* kind,
                              const json& step, const json& confidence) {
  const size_t begin = token_offset(b), end = token_offset(e);
  std::string replacement;
  for (const std::string& t : texts) replacement += t;
  const std::string old = text_.substr(begin, end - begin);
  if (old == replacement) return;
  json data = {{"kind", kind},
               {"step", step},
               {"begin", code_point_offset(text_, begin)},
               {"end", code_point_offset(text_, end)},
               {"old", old},
               {"new", replacement},
               {"confidence", confidence}};
  text_.replace(begin, end - begin, replacement);
  for (int64_t i = b; i < e; ++i) token_texts_[size_t(i)] = texts[size_t(i - b)];
  send_event("sculpt.refine", data);
}

void CompletionStream::on_spans(const SpansEvent& e) {
  if (!options_.revisions || e.strategy == "all") return;  // diffusion only: nothing was sent to rewrite
  // A draft that went to the refiner as text: the same text, now counted in the refiner's tokens.
  if (!e.token_texts.empty()) token_texts_ = e.token_texts;
  json spans = json::array();
  for (const SpanChoice& c : e.spans)
    spans.push_back({{"begin", code_point_offset(text_, token_offset(c.span.begin))},
                     {"end", code_point_offset(text_, token_offset(c.span.end))},
                     {"tokens", c.span.end - c.span.begin},  // masked positions: a gap has text of length 0
                     {"repeat", c.repeat}});
  send_event("sculpt.spans", {{"strategy", e.strategy}, {"spans", spans}});
  // The spans go blank: the refiner writes them anew. Right to left, so earlier offsets hold.
  for (auto it = e.spans.rbegin(); it != e.spans.rend(); ++it)
    revise(it->span.begin, it->span.end, std::vector<std::string>(size_t(it->span.end - it->span.begin)), "mask", nullptr,
           nullptr);
}

void CompletionStream::on_refine_step(const RefineStepEvent& e) {
  if (!options_.revisions || token_texts_.empty()) return;
  // One revision per written or re-masked position, right to left.
  std::vector<std::tuple<int64_t, std::string, json>> changes;  // (position, text, confidence)
  for (size_t j = 0; j < e.step.committed.size(); ++j)
    changes.emplace_back(e.step.committed[j], e.texts[j], e.step.confidence[j]);
  for (int64_t i : e.step.remasked) changes.emplace_back(i, "", nullptr);
  std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  for (const auto& [position, text, confidence] : changes)
    if (position >= 0 && position < int64_t(token_texts_.size()))
      revise(position, position + 1, {text}, text.empty() ? "remask" : "fill", e.step.step, confidence);
}

void CompletionStream::on_section(const SectionEvent& e) {
  if (!options_.revisions) {
    pending_.clear();
    if (!options_.final_tokens) send_text(e.text);
    return;
  }
  // The section as the client holds it should be the section's final text; where piece texts
  // and the decoder disagree (byte pieces of one character), one last revision makes it so.
  const std::string held = text_.substr(std::min(section_start_, text_.size()));
  if (token_texts_.empty() && held.empty()) {  // diffusion only: nothing was drafted, the text goes out now
    send_text(e.text);
  } else if (held != e.text) {
    json data = {{"kind", "final"}, {"step", nullptr}, {"begin", code_point_offset(text_, section_start_)},
                 {"end", code_point_offset(text_, text_.size())}, {"old", held}, {"new", e.text}, {"confidence", nullptr}};
    text_.replace(section_start_, std::string::npos, e.text);
    send_event("sculpt.refine", data);
  }
  section_start_ = text_.size();
  token_texts_.clear();
}

void CompletionStream::finish(const PipelineResult& result, const json& usage, const json& timings, const json& edits) {
  const char* reason = result.stopped ? "stop" : "length";
  const json last = options_.chat ? json{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", reason}}
                                  : json{{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", reason}};
  send("data: " + chunk(last).dump() + "\n\n");
  if (options_.include_usage) {
    json with_usage = chunk(json::object());
    with_usage["choices"] = json::array();
    with_usage["usage"] = usage;
    send("data: " + with_usage.dump() + "\n\n");
  }
  if (options_.revisions) send_event("sculpt.done", {{"text", result.text}, {"edits", edits}, {"usage", usage}, {"timings", timings}});
  send("data: [DONE]\n\n");
}

void CompletionStream::fail(const json& error_body) {
  send("data: " + error_body.dump() + "\n\n");
  send("data: [DONE]\n\n");
}

}  // namespace sculpt::server
