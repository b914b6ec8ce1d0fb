// The built-in span selectors and their factory; see span_selectors.h.
#include "diffusion_refine/span_selectors.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "diffusion_refine/refiner.h"

namespace sculpt {
namespace {

// Marks tokens whose score is beyond a threshold: weakness = sign * score, chosen when
// weakness > sign * threshold.
SpanSelector::Marks threshold_marks(const std::vector<float>& scores, size_t n, double threshold, float sign,
                                    const char* what) {
  if (scores.size() != n)
    fail("span selection", "needs the drafter's ", what, " of every draft token (", n, " tokens, got ", scores.size(),
         ")");
  SpanSelector::Marks m;
  m.weakness.resize(n);
  m.chosen.resize(n);
  for (size_t i = 0; i < n; ++i) {
    m.weakness[i] = sign * scores[i];
    m.chosen[i] = double(m.weakness[i]) > double(sign) * threshold;
  }
  return m;
}

class LogprobSelector : public SpanSelector {
 public:
  using SpanSelector::SpanSelector;
  Marks mark(const DraftView& d) override {
    return threshold_marks(d.logprobs, d.tokens.size(), params_.logprob_threshold, -1.0f, "log-probabilities");
  }
};

class EntropySelector : public SpanSelector {
 public:
  using SpanSelector::SpanSelector;
  Marks mark(const DraftView& d) override {
    return threshold_marks(d.entropies, d.tokens.size(), params_.entropy_threshold, 1.0f, "entropies");
  }
};

class RefinerConfidenceSelector : public SpanSelector {
 public:
  RefinerConfidenceSelector(const SpanParams& params, Refiner& refiner) : SpanSelector(params), refiner_(refiner) {}
  Marks mark(const DraftView& d) override {
    const Canvas canvas = Canvas::from_parts(d.context, d.tokens);
    const std::vector<float> all = refiner_.token_probabilities(canvas);
    const std::vector<float> probs(all.begin() + canvas.n_context, all.end());
    return threshold_marks(probs, d.tokens.size(), params_.confidence_threshold, -1.0f, "refiner probabilities");
  }

 private:
  Refiner& refiner_;
};

// The drafter reads the text left to right, the refiner from both sides: a word out of place
// surprises both, a rare but right word mostly one. Weakness: the sum of their surprisals.
class CombinedSelector : public SpanSelector {
 public:
  CombinedSelector(const SpanParams& params, Refiner& refiner) : SpanSelector(params), refiner_(refiner) {}
  Marks mark(const DraftView& d) override {
    if (d.logprobs.size() != d.tokens.size())
      fail("span selection", "combined needs the drafter's log-probabilities of every token (", d.tokens.size(),
           " tokens, got ", d.logprobs.size(), ")");
    const Canvas canvas = Canvas::from_parts(d.context, d.tokens);
    const std::vector<float> all = refiner_.token_probabilities(canvas);
    std::vector<float> surprisal(d.tokens.size());
    for (size_t i = 0; i < d.tokens.size(); ++i)
      surprisal[i] = -d.logprobs[i] - std::log(std::max(1e-30f, all[size_t(canvas.n_context) + i]));
    return threshold_marks(surprisal, d.tokens.size(), params_.combined_threshold, 1.0f, "surprisals");
  }

 private:
  Refiner& refiner_;
};

class RandomSelector : public SpanSelector {
 public:
  using SpanSelector::SpanSelector;
  Marks mark(const DraftView& d) override {
    std::mt19937_64 rng(uint64_t(params_.seed));
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    Marks m;
    for (size_t i = 0; i < d.tokens.size(); ++i) {
      m.weakness.push_back(u(rng));
      m.chosen.push_back(double(m.weakness.back()) < params_.random_fraction);
    }
    return m;
  }
};

class RangesSelector : public SpanSelector {
 public:
  using SpanSelector::SpanSelector;
  Marks mark(const DraftView& d) override {
    Marks m;
    m.weakness.assign(d.tokens.size(), 1.0f);
    m.chosen.assign(d.tokens.size(), 0);
    for (const Span& s : parse_token_ranges(params_.ranges, int64_t(d.tokens.size())))
      std::fill(m.chosen.begin() + s.begin, m.chosen.begin() + s.end, 1);
    return m;
  }
};

}  // namespace

std::unique_ptr<SpanSelector> make_span_selector(const SpanParams& params, Refiner* refiner) {
  switch (params.strategy) {
    case SpanStrategy::kLogprob: return std::make_unique<LogprobSelector>(params);
    case SpanStrategy::kEntropy: return std::make_unique<EntropySelector>(params);
    case SpanStrategy::kRefinerConfidence:
      if (!refiner) fail("span selection", "refiner_confidence needs a refiner");
      return std::make_unique<RefinerConfidenceSelector>(params, *refiner);
    case SpanStrategy::kCombined:
      if (!refiner) fail("span selection", "combined needs a refiner");
      return std::make_unique<CombinedSelector>(params, *refiner);
    case SpanStrategy::kRandom: return std::make_unique<RandomSelector>(params);
    case SpanStrategy::kRanges: return std::make_unique<RangesSelector>(params);
  }
  fail("span selection", "unknown strategy");
}

}  // namespace sculpt
