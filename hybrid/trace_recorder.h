// The pipeline's own observer: records every event into a PipelineTrace (stages summed by name,
// passages, edits, sections) and hands it on to the caller's observer, so that the trace a call
// returns and what an observer saw are one stream.
#pragma once

#include "hybrid/pipeline.h"

namespace sculpt {

class TraceRecorder : public PipelineObserver {
 public:
  // Events are forwarded to `next` (may be null) after they are recorded.
  TraceRecorder(PipelineTrace& trace, PipelineObserver* next) : trace_(trace), next_(next) {}

  bool stop_requested() override { return next_ && next_->stop_requested(); }
  void on_passages(const PassagesEvent& e) override;
  void on_draft_token(const DraftTokenEvent& e) override;
  void on_spans(const SpansEvent& e) override;
  void on_refine_step(const RefineStepEvent& e) override;
  void on_edit(const TextEdit& e) override;
  void on_stage(const StageTiming& timing, int64_t section) override;
  void on_section(const SectionEvent& e) override;

 private:
  PipelineTrace& trace_;
  PipelineObserver* next_;
};

}  // namespace sculpt
