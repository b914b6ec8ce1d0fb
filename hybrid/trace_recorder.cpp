// TraceRecorder: the trace of a pipeline call, made from its events; see trace_recorder.h.
#include "hybrid/trace_recorder.h"

namespace sculpt {

void TraceRecorder::on_passages(const PassagesEvent& e) {
  trace_.passages.insert(trace_.passages.end(), e.passages.begin(), e.passages.end());
  if (next_) next_->on_passages(e);
}

void TraceRecorder::on_draft_token(const DraftTokenEvent& e) {
  if (next_) next_->on_draft_token(e);
}

void TraceRecorder::on_spans(const SpansEvent& e) {
  if (next_) next_->on_spans(e);
}

void TraceRecorder::on_refine_step(const RefineStepEvent& e) {
  if (next_) next_->on_refine_step(e);
}

void TraceRecorder::on_edit(const TextEdit& e) {
  trace_.edits.push_back(e);
  if (next_) next_->on_edit(e);
}

void TraceRecorder::on_stage(const StageTiming& t, int64_t section) {
  StageTiming* sum = nullptr;
  for (StageTiming& s : trace_.stages) if (s.name == t.name) sum = &s;
  if (!sum) {
    trace_.stages.push_back({t.name});
    sum = &trace_.stages.back();
  }
  sum->seconds += t.seconds;
  sum->n_forward += t.n_forward;
  sum->n_tokens += t.n_tokens;
  if (next_) next_->on_stage(t, section);
}

void TraceRecorder::on_section(const SectionEvent& e) {
  ++trace_.n_sections;
  if (next_) next_->on_section(e);
}

}  // namespace sculpt
