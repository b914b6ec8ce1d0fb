// The pipeline's events and trace as JSON: `sculpt generate --json/--trace` and `sculpt refine
// --config --json` print them, and the server sends the same objects.
//
//   EventLog log;                                   // an observer that keeps every event
//   PipelineResult r = pipeline.generate(prompt, &log);
//   nlohmann::json j = {{"trace", trace_json(r.trace)}, {"events", log.events()}};
#pragma once

#include <nlohmann/json.hpp>

#include "hybrid/pipeline.h"

namespace sculpt::cli {

// {"seconds", "tokens", "tokens_per_second", "sections", "stages": [...], "passages": [...], "edits": [...]}
nlohmann::json trace_json(const PipelineTrace& trace);

// One event as {"event": "<kind>", ...its fields}; kinds: passages, draft_token, spans,
// refine_step, edit, stage, section.
nlohmann::json event_json(const PassagesEvent& e);
nlohmann::json event_json(const DraftTokenEvent& e);
nlohmann::json event_json(const SpansEvent& e);
nlohmann::json event_json(const RefineStepEvent& e);
nlohmann::json event_json(const TextEdit& e);
nlohmann::json event_json(const StageTiming& timing, int64_t section);
nlohmann::json event_json(const SectionEvent& e);

// Keeps every event, in order, as JSON.
class EventLog : public PipelineObserver {
 public:
  void on_passages(const PassagesEvent& e) override { events_.push_back(event_json(e)); }
  void on_draft_token(const DraftTokenEvent& e) override { events_.push_back(event_json(e)); }
  void on_spans(const SpansEvent& e) override { events_.push_back(event_json(e)); }
  void on_refine_step(const RefineStepEvent& e) override { events_.push_back(event_json(e)); }
  void on_edit(const TextEdit& e) override { events_.push_back(event_json(e)); }
  void on_stage(const StageTiming& t, int64_t section) override { events_.push_back(event_json(t, section)); }
  void on_section(const SectionEvent& e) override { events_.push_back(event_json(e)); }
  const nlohmann::json& events() const { return events_; }

 private:
  nlohmann::json events_ = nlohmann::json::array();
};

}  // namespace sculpt::cli
