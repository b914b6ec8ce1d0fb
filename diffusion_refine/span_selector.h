// Span selection: which draft tokens the refiner re-masks. A selector marks weak tokens; one
// shared step then caps their share (weakest first), widens them and merges them into spans.
//
//   class EveryOther : public SpanSelector {            // a plug-in of the pipeline's
//     using SpanSelector::SpanSelector;
//     Marks mark(const DraftView& d) override { ... }   // weakness and choice per draft token
//   };
//   std::vector<Span> spans = EveryOther(SpanParams{}).select(draft);   // draft coordinates
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/token_id.h"
#include "diffusion_refine/canvas.h"
#include "diffusion_refine/span_params.h"

namespace sculpt {

// What selectors see of a draft; logprobs and entropies may be empty when no drafter wrote it
// (the strategies that need them then throw Error).
struct DraftView {
  std::vector<TokenId> context;  // frozen tokens before the draft (prompt, passages)
  std::vector<TokenId> tokens;   // the draft
  std::vector<float> logprobs;   // drafter log p of each draft token, nats
  std::vector<float> entropies;  // drafter entropy at each draft token, nats
};

class SpanSelector {
 public:
  explicit SpanSelector(const SpanParams& params) : params_(params) {}
  virtual ~SpanSelector() = default;
  // Weakness of each draft token (higher = weaker) and whether it is chosen, before the
  // shared cap/dilate/merge step. Must not modify anything but its own state.
  struct Marks {
    std::vector<float> weakness;
    std::vector<uint8_t> chosen;
  };
  virtual Marks mark(const DraftView& draft) = 0;
  const SpanParams& params() const { return params_; }
  // Spans to re-mask, ascending and disjoint, in draft coordinates: mark(), then the tokens
  // ending a repeated n-gram (repeat_ngram; weakest of all, weakness +inf), then
  // spans_from_marks. `marks`, if given, receives the marks the spans were made from.
  std::vector<Span> select(const DraftView& draft, Marks* marks = nullptr);

 protected:
  SpanParams params_;
};

// Keeps at most floor(max_fraction * n) chosen tokens (the weakest; ties to the lower index),
// widens each by `dilate` on both sides, and merges touching tokens into spans. Pure.
std::vector<Span> spans_from_marks(const SpanSelector::Marks& marks, double max_fraction, int dilate);

// Parses "begin:end" ranges (draft tokens, end exclusive); throws Error naming a bad one or
// one outside [0, n_draft].
std::vector<Span> parse_token_ranges(const std::vector<std::string>& ranges, int64_t n_draft);

}  // namespace sculpt
