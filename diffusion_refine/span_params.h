// Which draft tokens the refiner re-masks (`spans:` section of a pipeline config), with the
// defaults. diffusion_refine/span_selector.h applies them.
//
//   spans:
//     strategy: logprob
//     logprob_threshold: -4.0   # re-mask tokens the drafter gave less than e^-4
//     max_fraction: 0.1
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

enum class SpanStrategy {
  kLogprob,            // drafter log-probability below logprob_threshold
  kEntropy,            // drafter entropy above entropy_threshold
  kRefinerConfidence,  // the refiner's probability of the token, in one pass, below confidence_threshold
  kCombined,           // both: -log p(drafter) - log p(refiner) above combined_threshold (a user's text, scored by both)
  kRandom,             // each token with probability random_fraction (ablations)
  kRanges,             // the ranges given by the user
};

struct SpanParams {
  SpanStrategy strategy = SpanStrategy::kLogprob;
  double logprob_threshold = -3.0;     // nats; kLogprob re-masks tokens with log p below it
  double entropy_threshold = 3.0;      // nats; kEntropy re-masks tokens whose distribution was flatter
  double confidence_threshold = 0.05;  // kRefinerConfidence re-masks tokens the refiner gives less
  double combined_threshold = 14.0;    // nats; kCombined re-masks tokens whose two surprisals add up to more
  double random_fraction = 0.15;       // kRandom
  std::vector<std::string> ranges;     // kRanges: "begin:end" draft-token ranges, end exclusive
  double max_fraction = 0.5;           // at most this share of the draft is re-masked, weakest first; 1 = no cap
  int dilate = 0;                      // widen every chosen token by this many neighbours on each side
  int repeat_ngram = 0;                // also re-mask, first of all, each draft token ending a repeated n-gram; 0 = off
  int64_t seed = 0;                    // kRandom's seed
  // A user's text (the fix: Pipeline::edit with nothing asked) is scored by fix_strategy:
  // refiner_confidence (the default: the fewest words damaged per word restored on corrupted
  // held-out text, sculpt bench fix), logprob or combined; without a drafter, refiner_confidence.
  SpanStrategy fix_strategy = SpanStrategy::kRefinerConfidence;
  // The fix keeps a rewritten span only where the drafter finds the text likelier with it (the
  // span and the few tokens after it); needs a drafter.
  bool verify = true;

  template <class V>
  void visit(V& v) {
    v.field("strategy", strategy, "how weak draft tokens are chosen",
            Choices<SpanStrategy>{{"logprob", SpanStrategy::kLogprob},
                                  {"entropy", SpanStrategy::kEntropy},
                                  {"refiner_confidence", SpanStrategy::kRefinerConfidence},
                                  {"combined", SpanStrategy::kCombined},
                                  {"random", SpanStrategy::kRandom},
                                  {"ranges", SpanStrategy::kRanges}});
    v.field("logprob_threshold", logprob_threshold, "logprob: re-mask tokens with drafter log p below it (nats)",
            Range{-1e4, 0.0});
    v.field("entropy_threshold", entropy_threshold, "entropy: re-mask tokens with drafter entropy above it (nats)",
            Range::at_least(0.0));
    v.field("confidence_threshold", confidence_threshold,
            "refiner_confidence: re-mask tokens the refiner gives a probability below it", Range{0.0, 1.0});
    v.field("combined_threshold", combined_threshold,
            "combined: re-mask tokens whose drafter and refiner surprisals (-log p) sum above it (nats)",
            Range::at_least(0.0));
    v.field("random_fraction", random_fraction, "random: share of tokens re-masked", Range{0.0, 1.0});
    v.field("ranges", ranges, "ranges: draft-token ranges \"begin:end\" (end exclusive)");
    v.field("max_fraction", max_fraction, "largest share of the draft re-masked, weakest first", Range{0.0, 1.0});
    v.field("dilate", dilate, "neighbours added on each side of a chosen token", Range{0, 1 << 16});
    v.field("repeat_ngram", repeat_ngram,
            "n: also re-mask every draft token that ends an n-gram the draft already had; 0 = off", Range{0, 64});
    v.field("seed", seed, "random: seed", Range::at_least(0));
    v.field("fix_strategy", fix_strategy, "how the fix scores a user's text (without a drafter: refiner_confidence)",
            Choices<SpanStrategy>{{"refiner_confidence", SpanStrategy::kRefinerConfidence},
                                  {"logprob", SpanStrategy::kLogprob},
                                  {"combined", SpanStrategy::kCombined}});
    v.field("verify", verify, "fixing a user's text: keep a rewritten span only if the drafter finds it likelier");
  }
};

// The YAML name of a strategy ("logprob", ...).
const char* span_strategy_name(SpanStrategy strategy);

}  // namespace sculpt
