// Span selection: which draft tokens the refiner re-masks. A selector marks weak tokens; one
// shared step then caps their share (weakest first), widens them and merges them into spans.
//
//   SpanParams params;  params.strategy = SpanStrategy::kLogprob;  params.logprob_threshold = -4;
//   std::unique_ptr<SpanSelector> selector = make_span_selector(params, &refiner);
//   std::vector<Span> spans = selector->select(draft);   // draft coordinates
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "diffusion_refine/canvas.h"

namespace sculpt {

class Refiner;

enum class SpanStrategy {
  kLogprob,            // drafter log-probability below logprob_threshold
  kEntropy,            // drafter entropy above entropy_threshold
  kRefinerConfidence,  // the refiner's probability of the token, in one pass, below confidence_threshold
  kRandom,             // each token with probability random_fraction (ablations)
  kRanges,             // the ranges given by the user
};

struct SpanParams {
  SpanStrategy strategy = SpanStrategy::kLogprob;
  double logprob_threshold = -3.0;     // nats; kLogprob re-masks tokens with log p below it
  double entropy_threshold = 3.0;      // nats; kEntropy re-masks tokens whose distribution was flatter
  double confidence_threshold = 0.05;  // kRefinerConfidence re-masks tokens the refiner gives less
  double random_fraction = 0.15;       // kRandom
  std::vector<std::string> ranges;     // kRanges: "begin:end" draft-token ranges, end exclusive
  double max_fraction = 0.5;           // at most this share of the draft is re-masked, weakest first; 1 = no cap
  int dilate = 0;                      // widen every chosen token by this many neighbours on each side
  int repeat_ngram = 0;                // also re-mask, first of all, each draft token ending a repeated n-gram; 0 = off
  int64_t seed = 0;                    // kRandom's seed

  template <class V>
  void visit(V& v) {
    v.field("strategy", strategy, "how weak draft tokens are chosen",
            Choices<SpanStrategy>{{"logprob", SpanStrategy::kLogprob},
                                  {"entropy", SpanStrategy::kEntropy},
                                  {"refiner_confidence", SpanStrategy::kRefinerConfidence},
                                  {"random", SpanStrategy::kRandom},
                                  {"ranges", SpanStrategy::kRanges}});
    v.field("logprob_threshold", logprob_threshold, "logprob: re-mask tokens with drafter log p below it (nats)",
            Range{-1e4, 0.0});
    v.field("entropy_threshold", entropy_threshold, "entropy: re-mask tokens with drafter entropy above it (nats)",
            Range::at_least(0.0));
    v.field("confidence_threshold", confidence_threshold,
            "refiner_confidence: re-mask tokens the refiner gives a probability below it", Range{0.0, 1.0});
    v.field("random_fraction", random_fraction, "random: share of tokens re-masked", Range{0.0, 1.0});
    v.field("ranges", ranges, "ranges: draft-token ranges \"begin:end\" (end exclusive)");
    v.field("max_fraction", max_fraction, "largest share of the draft re-masked, weakest first", Range{0.0, 1.0});
    v.field("dilate", dilate, "neighbours added on each side of a chosen token", Range{0, 1 << 16});
    v.field("repeat_ngram", repeat_ngram,
            "n: also re-mask every draft token that ends an n-gram the draft already had; 0 = off", Range{0, 64});
    v.field("seed", seed, "random: seed", Range::at_least(0));
  }
};

// What selectors see of a draft; logprobs and entropies may be empty when no drafter wrote it
// (the strategies that need them then throw Error).
struct DraftView {
  std::vector<int64_t> context;  // frozen tokens before the draft (prompt, passages)
  std::vector<int64_t> tokens;   // the draft
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
  // Spans to re-mask, ascending and disjoint, in draft coordinates: mark(), then the tokens
  // ending a repeated n-gram (repeat_ngram; weakest of all), then spans_from_marks.
  std::vector<Span> select(const DraftView& draft);

 protected:
  SpanParams params_;
};

// Keeps at most floor(max_fraction * n) chosen tokens (the weakest; ties to the lower index),
// widens each by `dilate` on both sides, and merges touching tokens into spans. Pure.
std::vector<Span> spans_from_marks(const SpanSelector::Marks& marks, double max_fraction, int dilate);

// Parses "begin:end" ranges (draft tokens, end exclusive); throws Error naming a bad one or
// one outside [0, n_draft].
std::vector<Span> parse_token_ranges(const std::vector<std::string>& ranges, int64_t n_draft);

// The selector for params.strategy; kRefinerConfidence needs `refiner` (else Error).
std::unique_ptr<SpanSelector> make_span_selector(const SpanParams& params, Refiner* refiner = nullptr);

}  // namespace sculpt
