// The hybrid pipeline: retrieve for the prompt -> draft with the KV cache -> select weak spans ->
// retrieve with prompt + draft -> inject passages -> refine the spans in parallel over the whole
// context -> output; long documents section by section. Built from one pipeline config.
//
//   sculpt::Pipeline pipeline = sculpt::Pipeline::from_file("configs/pipeline/brown.yaml", {"refine.steps=8"});
//   sculpt::PipelineResult r = pipeline.generate("The jury said");   // or generate(prompt, &observer)
//   std::cout << r.text << "\n" << r.trace.seconds << " s, " << r.trace.edits.size() << " edits\n";
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/token_id.h"
#include "core/tokenizer.h"
#include "diffusion_refine/canvas.h"
#include "diffusion_refine/denoiser.h"
#include "diffusion_refine/span_selector.h"
#include "hybrid/edit_request.h"
#include "hybrid/pipeline_config.h"
#include "hybrid/pipeline_events.h"
#include "retrieval/retriever.h"

namespace sculpt {

// Where the time and work of one call went, summed over sections: what the events reported.
struct PipelineTrace {
  std::vector<StageTiming> stages;        // in the order the stages first ran
  std::vector<InjectedPassage> passages;  // every passage injected, in order of use
  std::vector<TextEdit> edits;            // every draft token the refiner changed
  int64_t n_sections = 0;
  int64_t n_generated = 0;  // new tokens in the output
  double seconds = 0;       // wall time of the whole call
  double tokens_per_second() const { return seconds > 0 ? double(n_generated) / seconds : 0.0; }
};

struct PipelineResult {
  std::string text;                // the new text (the prompt not repeated); editing: the whole document
  std::string draft_text;          // the drafter's text before refinement; editing: the text as given
  std::vector<TokenId> ids;        // the output's token ids (the refiner's vocabulary when it refines)
  std::vector<TokenId> draft_ids;  // the draft's token ids in that vocabulary (aligned with ids when drafting is on)
  bool stopped = false;            // the draft ended at EOS or a stop string (else: max_tokens)
  PipelineTrace trace;
};

class Pipeline {
 public:
  // Reads the config (then --set style overrides) and loads what it names. Throws Error naming
  // the key and the file for a missing model or index or an unknown backend. A drafter and a
  // refiner with different tokenizers work together: the draft goes to the refiner as text, its
  // weak spans become the refiner tokens over the same characters, and edits, positions and
  // ids after drafting are the refiner's (SpansEvent::token_texts); with one tokenizer, the
  // draft's tokens go over as they are.
  static Pipeline from_file(const std::string& config_path, const std::vector<std::string>& overrides = {});
  explicit Pipeline(const PipelineConfig& config, const std::string& config_path = "");
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  // Plug-ins replacing the stages the config built.
  void set_retriever(std::unique_ptr<Retriever> retriever);
  void set_span_selector(std::unique_ptr<SpanSelector> selector);
  void set_denoiser(std::unique_ptr<Denoiser> denoiser);

  // Writes pipeline.max_tokens new tokens after `prompt`, section by section, reporting what
  // happens to `observer` (if given) as it happens. An observer whose stop_requested() turns
  // true ends the call with Cancelled after the current forward pass.
  PipelineResult generate(const std::string& prompt, PipelineObserver* observer = nullptr);
  // The same with one call's own settings (a server request's): the mode, lengths, drafting,
  // spans, refinement and retrieval settings of `settings` replace the config's; the models and
  // index stay the ones loaded (a mode that needs a model this pipeline did not load is an
  // Error). Calls may run concurrently from several threads.
  PipelineResult generate(const std::string& prompt, const PipelineConfig& settings,
                          PipelineObserver* observer = nullptr);

  // Editing: rewrites ranges of a user's text, fills its gaps, places required phrases and keeps
  // locked text, against the text on both sides, with the pipeline's retrieval and refiner; then
  // drafts and refines request.continue_tokens more (edit_request.h says what each field does).
  // With nothing to rewrite, fill, place or add, it fixes the text: the span selector chooses
  // what to rewrite, from the drafter's scores of the text when a drafter is loaded, else the
  // refiner's confidence. Locked and untouched text comes back byte for byte; the events report
  // the document's tokens (section 0), the runs re-masked, each step and edit in document
  // coordinates, then the whole text as one section. Throws Error for a request plan_edit
  // refuses, a phrase without room, a forbidden phrase a lock keeps.
  PipelineResult edit(const EditRequest& request, PipelineObserver* observer = nullptr);
  PipelineResult edit(const EditRequest& request, const PipelineConfig& settings, PipelineObserver* observer = nullptr);

  const PipelineConfig& config() const;
  // The tokenizer prompts are written for: the drafter's (the refiner's without a drafter).
  const Tokenizer& tokenizer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sculpt
