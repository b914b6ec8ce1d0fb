// A program that embeds Sculpt through its public headers: builds the pipeline from a YAML
// config, streams each finished section as the pipeline's events report it, prints where the
// time went, then refines its own output in editing mode and shows the words that changed.
//
//   sculpt_embed CONFIG PROMPT [key=value ...]     (key=value as `sculpt generate --set`)
//
// Set OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 before starting (the sculpt CLI does
// it for itself): idle LibTorch and OpenBLAS threads otherwise hold the cores others compute on.
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "hybrid/pipeline.h"
#include "hybrid/text_diff.h"

// Prints each section as soon as the pipeline has finished it.
class SectionPrinter : public sculpt::PipelineObserver {
 public:
  void on_section(const sculpt::SectionEvent& section) override {
    std::printf("%s", section.text.c_str());
    std::fflush(stdout);
  }
};

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG PROMPT [key=value ...]\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<std::string> overrides(argv + 3, argv + argc);
    sculpt::Pipeline pipeline = sculpt::Pipeline::from_file(argv[1], overrides);

    std::printf("%s", argv[2]);
    SectionPrinter printer;
    const sculpt::PipelineResult result = pipeline.generate(argv[2], &printer);
    std::printf("\n\n");
    const sculpt::PipelineTrace& trace = result.trace;
    std::printf("%lld tokens in %.2f s (%.1f tokens/s), %lld sections, %zu passages, %zu edits\n",
                (long long)trace.n_generated, trace.seconds, trace.tokens_per_second(), (long long)trace.n_sections,
                trace.passages.size(), trace.edits.size());
    for (const sculpt::StageTiming& stage : trace.stages)
      std::printf("  %-16s %.3f s, %lld forward passes\n", stage.name.c_str(), stage.seconds, (long long)stage.n_forward);

    // Editing the pipeline's own output, with nothing asked: the span selector picks what to fix.
    const sculpt::PipelineResult edited = pipeline.edit(sculpt::EditRequest{result.text});
    std::printf("refined again: %zu tokens changed\n", edited.trace.edits.size());
    for (const sculpt::TextChange& c : sculpt::word_changes(edited.draft_text, edited.text))
      std::printf("  '%s' -> '%s'\n", c.old_text.c_str(), c.new_text.c_str());
    return 0;
  } catch (const sculpt::Error& e) {
    std::fprintf(stderr, "sculpt_embed: error: %s\n", e.what());
    return 1;
  }
}
