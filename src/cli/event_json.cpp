// JSON of the pipeline's events and trace; see event_json.h.
#include "cli/event_json.h"

#include <cmath>

namespace sculpt::cli {
namespace {

using json = nlohmann::json;

json passage_json(const InjectedPassage& p) {
  return {{"passage_id", p.passage_id}, {"doc_id", p.doc_id}, {"start", p.start}, {"end", p.end},
          {"score", p.score},           {"tokens", p.n_tokens}, {"truncated", p.truncated}};
}

json stage_json(const StageTiming& s) {
  return {{"stage", s.name}, {"seconds", s.seconds}, {"forward_passes", s.n_forward}, {"tokens", s.n_tokens}};
}

// JSON has no infinity: a repeat's weakness (+inf) is written as null.
json finite_or_null(float x) { return std::isfinite(x) ? json(x) : json(nullptr); }

}  // namespace

json trace_json(const PipelineTrace& t) {
  json stages = json::array(), passages = json::array(), edits = json::array();
  for (const StageTiming& s : t.stages) stages.push_back(stage_json(s));
  for (const InjectedPassage& p : t.passages) passages.push_back(passage_json(p));
  for (const TextEdit& e : t.edits)
    edits.push_back({{"section", e.section}, {"token", e.token}, {"old", e.old_piece}, {"new", e.new_piece}});
  return {{"seconds", t.seconds},   {"tokens", t.n_generated}, {"tokens_per_second", t.tokens_per_second()},
          {"sections", t.n_sections}, {"stages", stages},        {"passages", passages}, {"edits", edits}};
}

json event_json(const PassagesEvent& e) {
  json passages = json::array();
  for (const InjectedPassage& p : e.passages) passages.push_back(passage_json(p));
  return {{"event", "passages"}, {"section", e.section}, {"stage", e.stage}, {"passages", passages}};
}

json event_json(const DraftTokenEvent& e) {
  return {{"event", "draft_token"}, {"section", e.section}, {"index", e.index},     {"id", e.id},
          {"text", e.text},         {"logprob", e.logprob}, {"entropy", e.entropy}};
}

json event_json(const SpansEvent& e) {
  json spans = json::array();
  for (const SpanChoice& c : e.spans)
    spans.push_back({{"begin", c.span.begin}, {"end", c.span.end}, {"weakness", finite_or_null(c.weakness)},
                     {"repeat", c.repeat}});
  json out = {{"event", "spans"}, {"section", e.section}, {"strategy", e.strategy}, {"tokens", e.n_draft}, {"spans", spans}};
  if (!e.token_texts.empty()) out["token_texts"] = e.token_texts;  // positions count the refiner's tokens
  return out;
}

json event_json(const RefineStepEvent& e) {
  return {{"event", "refine_step"},        {"section", e.section},        {"step", e.step.step},
          {"committed", e.step.committed}, {"tokens", e.step.tokens},     {"texts", e.texts},
          {"confidence", e.step.confidence}, {"remasked", e.step.remasked}, {"masked", e.step.n_masked}};
}

json event_json(const TextEdit& e) {
  return {{"event", "edit"}, {"section", e.section}, {"token", e.token},     {"old_id", e.old_id},
          {"new_id", e.new_id}, {"old", e.old_piece},  {"new", e.new_piece}};
}

json event_json(const StageTiming& timing, int64_t section) {
  json j = stage_json(timing);
  j["event"] = "stage";
  j["section"] = section;
  return j;
}

json event_json(const SectionEvent& e) {
  return {{"event", "section"}, {"section", e.index}, {"text", e.text}, {"draft", e.draft_text}};
}

}  // namespace sculpt::cli
