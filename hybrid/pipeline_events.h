// What the pipeline reports while it runs: one observer, called on the calling thread as each
// thing happens. The CLI's live output, --show-edits and --json/--trace are built from these
// events, and so is the trace in PipelineResult.
//
//   struct Printer : sculpt::PipelineObserver {
//     void on_draft_token(const sculpt::DraftTokenEvent& e) override { std::cout << e.text << std::flush; }
//   } printer;
//   pipeline.generate("The jury said", &printer);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/token_id.h"
#include "diffusion_refine/canvas.h"
#include "diffusion_refine/refine_result.h"
#include "retrieval/passage.h"

namespace sculpt {

// Token positions in events are section coordinates: 0 = the section's first new token.

struct PassagesEvent {
  int64_t section = 0;
  std::string stage;                      // retrieve_prompt (the drafter's) or retrieve_draft (the refiner's)
  std::vector<InjectedPassage> passages;  // in the order they appear in the context
};

struct DraftTokenEvent {
  int64_t section = 0;
  int64_t index = 0;   // among the section's drafted tokens
  TokenId id = 0;
  std::string text;    // what the token adds to the text ("" while a multi-byte character is incomplete)
  float logprob = 0;   // log p(id | prefix) under the drafter's distribution, nats
  float entropy = 0;   // entropy of that distribution, nats
  bool drafted = true; // false: a token of the user's own text (editing), without scores
};

// A span the refiner re-masks, and why.
struct SpanChoice {
  Span span;
  float weakness = 0;   // of its weakest token, as the strategy scores it (higher = weaker): -log p
                        // (logprob), entropy, -p (refiner_confidence); +inf for a repeat
  bool repeat = false;  // holds a token that ends a repeated n-gram (spans.repeat_ngram)
};

struct SpansEvent {
  int64_t section = 0;
  std::string strategy;  // spans.strategy; "all" when the refiner writes the whole section (diffusion only)
  int64_t n_draft = 0;   // tokens in the section
  std::vector<SpanChoice> spans;
  // Set when the drafter and the refiner do not share a vocabulary: the draft's text as the
  // refiner's tokens read it, one entry per token (concatenated, the draft's text). From here
  // on, this section's positions (spans, refine steps, edits) count these tokens, not the
  // drafter's.
  std::vector<std::string> token_texts;
};

// One denoising step of the refiner over a section.
struct RefineStepEvent {
  int64_t section = 0;
  RefineStep step;                 // positions in section coordinates (diffusion_refine/refine_result.h)
  std::vector<std::string> texts;  // the text of each written token, as it reads in the sentence
};

// A draft token the refiner changed.
struct TextEdit {
  int64_t section = 0;
  int64_t token = 0;        // position among the section's tokens
  TokenId old_id = 0, new_id = 0;
  std::string old_piece;    // the draft's token, as the tokenizer's piece
  std::string new_piece;
};

// Where the time and work of one stage went (per call in events; summed over sections in the trace).
struct StageTiming {
  std::string name;        // retrieve_prompt, draft, select_spans, retrieve_draft, refine
  double seconds = 0;
  int64_t n_forward = 0;   // forward passes of the stage's model (0 for retrieval)
  int64_t n_tokens = 0;    // tokens the stage wrote (draft: generated; refine: re-masked)
};

struct SectionEvent {
  int64_t index = 0;
  std::string text;        // the section's final text (refined, or the draft when refinement is off);
                           // the sections' texts concatenate to the output
  std::string draft_text;  // what the drafter wrote, read after the same text ("" in diffusion-only
                           // mode); the word diff of draft_text and text shows the refiner's edits
};

// Every method has an empty default: override what you need. Called synchronously, in order;
// an exception thrown from one ends the pipeline call with it.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // Asked after every forward pass: true stops the call with Cancelled (core/error.h) before the
  // next one (a server whose client went away, a deadline).
  virtual bool stop_requested() { return false; }
  virtual void on_passages(const PassagesEvent& event) {}
  virtual void on_draft_token(const DraftTokenEvent& event) {}
  virtual void on_spans(const SpansEvent& event) {}
  virtual void on_refine_step(const RefineStepEvent& event) {}
  virtual void on_edit(const TextEdit& edit) {}
  virtual void on_stage(const StageTiming& timing, int64_t section) {}
  virtual void on_section(const SectionEvent& event) {}
};

// Hands every event to several observers, in the order they were added.
class ObserverList : public PipelineObserver {
 public:
  void add(PipelineObserver* observer) { observers_.push_back(observer); }
  bool stop_requested() override {
    for (auto* o : observers_)
      if (o->stop_requested()) return true;
    return false;
  }
  void on_passages(const PassagesEvent& e) override { for (auto* o : observers_) o->on_passages(e); }
  void on_draft_token(const DraftTokenEvent& e) override { for (auto* o : observers_) o->on_draft_token(e); }
  void on_spans(const SpansEvent& e) override { for (auto* o : observers_) o->on_spans(e); }
  void on_refine_step(const RefineStepEvent& e) override { for (auto* o : observers_) o->on_refine_step(e); }
  void on_edit(const TextEdit& e) override { for (auto* o : observers_) o->on_edit(e); }
  void on_stage(const StageTiming& t, int64_t section) override { for (auto* o : observers_) o->on_stage(t, section); }
  void on_section(const SectionEvent& e) override { for (auto* o : observers_) o->on_section(e); }

 private:
  std::vector<PipelineObserver*> observers_;
};

}  // namespace sculpt
