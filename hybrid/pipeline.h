// The hybrid pipeline: retrieve for the prompt -> draft with the KV cache -> select weak spans ->
// retrieve with prompt + draft -> inject passages -> refine the spans in parallel over the whole
// context -> output; long documents section by section. Built from one YAML config.
//
//   Pipeline pipeline = Pipeline::from_file("configs/pipeline/brown.yaml", {"refine.steps=8"});
//   PipelineResult r = pipeline.generate("The jury said", [](const SectionOutput& s) { std::cout << s.text; });
//   std::cout << r.trace.seconds << " s, " << r.trace.edits.size() << " edits\n";
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "diffusion_refine/canvas.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/span_selector.h"
#include "hybrid/sculpt_config.h"
#include "retrieval/context_injector.h"
#include "retrieval/retriever.h"

namespace sculpt {

// The refinement stage as a plug-in: writes the masked positions of a canvas. The default runs
// the refiner's denoising loop (Refiner::refine); a C++ user may substitute their own sampler.
class Denoiser {
 public:
  virtual ~Denoiser() = default;
  // Must return tokens of the canvas's length and leave kFrozen positions unchanged.
  virtual RefineResult denoise(const Canvas& canvas, const RefineParams& params) = 0;
};

// One change the refiner made to the draft.
struct TextEdit {
  int64_t section = 0;
  int64_t token = 0;       // index among the section's new tokens
  std::string old_piece;   // the draft's token
  std::string new_piece;
};

// Where the time and work went, summed over sections.
struct StageTiming {
  std::string name;        // retrieve_prompt, draft, select_spans, retrieve_draft, refine
  double seconds = 0;
  int64_t n_forward = 0;   // forward passes of the stage's model (0 for retrieval)
  int64_t n_tokens = 0;    // tokens the stage wrote (draft: generated; refine: re-masked)
};

struct PipelineTrace {
  std::vector<StageTiming> stages;
  std::vector<InjectedPassage> passages;  // every passage injected, in order of use
  std::vector<TextEdit> edits;
  int64_t n_sections = 0;
  int64_t n_generated = 0;  // new tokens in the output
  double seconds = 0;       // wall time of the whole call
  double tokens_per_second() const { return seconds > 0 ? double(n_generated) / seconds : 0.0; }
};

// A finished section, as streamed to on_section.
struct SectionOutput {
  int64_t index = 0;
  std::string text;         // the section's final text (refined, or the draft when refinement is off)
  std::string draft_text;   // what the drafter wrote ("" in diffusion-only mode)
};
using SectionCallback = std::function<void(const SectionOutput& section)>;

struct PipelineResult {
  std::string text;         // the new text (the prompt not repeated)
  std::string draft_text;   // the drafter's text before refinement
  std::vector<int64_t> ids;        // the output's token ids
  std::vector<int64_t> draft_ids;  // the draft's token ids (aligned with ids when drafting is on)
  PipelineTrace trace;
};

class Pipeline {
 public:
  // Reads the config (then --set style overrides) and loads what it names. Throws Error naming
  // the key and the file for a missing model or index, an unknown backend, or a drafter and
  // refiner that do not share one tokenizer.
  static Pipeline from_file(const std::string& config_path, const std::vector<std::string>& overrides = {});
  explicit Pipeline(const SculptConfig& config, const std::string& config_path = "");
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  // Plug-ins replacing the stages the config built.
  void set_retriever(std::unique_ptr<Retriever> retriever);
  void set_span_selector(std::unique_ptr<SpanSelector> selector);
  void set_denoiser(std::unique_ptr<Denoiser> denoiser);

  // Writes pipeline.max_tokens new tokens after `prompt`, section by section; each finished
  // section goes to on_section as soon as it is done.
  PipelineResult generate(const std::string& prompt, const SectionCallback& on_section = {});

  // Editing mode: refines a user's text with the pipeline's retrieval and refiner. `spans` are
  // token ranges of the text (empty = chosen by the configured span selector, with the
  // refiner's own confidence standing in for drafter scores the text does not have).
  PipelineResult refine_text(const std::string& text, const std::vector<Span>& spans = {});

  const SculptConfig& config() const;
  const Tokenizer& tokenizer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sculpt
