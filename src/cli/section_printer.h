// The CLI's live output of a pipeline run: each section printed to stdout as soon as it is
// finished, either its text or, for --show-edits, its text with the words the refiner changed
// marked ([-old-]{+new+}, or in colour on a terminal; hybrid/text_diff.h).
#pragma once

#include "hybrid/pipeline_events.h"

namespace sculpt::cli {

class SectionPrinter : public PipelineObserver {
 public:
  enum Mode { kText, kEdits };
  SectionPrinter(Mode mode, bool colour) : mode_(mode), colour_(colour) {}
  void on_section(const SectionEvent& e) override;

 private:
  Mode mode_;
  bool colour_;
};

}  // namespace sculpt::cli
