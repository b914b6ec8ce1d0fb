// Span selectors: drafter log-prob, drafter entropy, refiner confidence, random, user ranges.
#include "diffusion_refine/span_selector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"
#include "diffusion_refine/ngram_repeats.h"
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

std::vector<Span> spans_from_marks(const SpanSelector::Marks& marks, double max_fraction, int dilate) {
  const size_t n = marks.chosen.size();
  std::vector<size_t> chosen;
  for (size_t i = 0; i < n; ++i) if (marks.chosen[i]) chosen.push_back(i);
  const size_t cap = size_t(std::floor(max_fraction * double(n) + 1e-9));
  if (chosen.size() > cap) {
    std::stable_sort(chosen.begin(), chosen.end(),
                     [&](size_t a, size_t b) { return marks.weakness[a] > marks.weakness[b]; });
    chosen.resize(cap);
  }
  std::vector<uint8_t> keep(n, 0);
  for (size_t i : chosen) {
    const size_t lo = i >= size_t(dilate) ? i - size_t(dilate) : 0;
    const size_t hi = std::min(n, i + size_t(dilate) + 1);
    std::fill(keep.begin() + long(lo), keep.begin() + long(hi), 1);
  }
  std::vector<Span> spans;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    if (!spans.empty() && spans.back().end == int64_t(i)) ++spans.back().end;
    else spans.push_back({int64_t(i), int64_t(i) + 1});
  }
  return spans;
}

std::vector<Span> parse_token_ranges(const std::vector<std::string>& ranges, int64_t n_draft) {
  std::vector<Span> out;
  for (const std::string& r : ranges) {
    const size_t colon = r.find(':');
    Span s;
    size_t used_a = 0, used_b = 0;
    try {
      if (colon == std::string::npos) throw std::invalid_argument(r);
      s.begin = std::stoll(r.substr(0, colon), &used_a);
      s.end = std::stoll(r.substr(colon + 1), &used_b);
    } catch (const std::exception&) {
      fail("span '" + r + "'", "expected begin:end (token indices, end exclusive)");
    }
    if (used_a != colon || used_b != r.size() - colon - 1)
      fail("span '" + r + "'", "expected begin:end (token indices, end exclusive)");
    if (s.begin < 0 || s.end <= s.begin || s.end > n_draft)
      fail("span '" + r + "'", "is outside the text's ", n_draft, " tokens or empty");
    out.push_back(s);
  }
  return out;
}

std::vector<Span> SpanSelector::select(const DraftView& draft) {
  Marks marks = mark(draft);
  if (params_.repeat_ngram > 0) {
    // A repeat loop is the draft's surest error: first in line under the max_fraction cap.
    const std::vector<uint8_t> ends = repeated_ngram_ends(draft.tokens, params_.repeat_ngram);
    for (size_t i = 0; i < ends.size() && i < marks.chosen.size(); ++i)
      if (ends[i]) {
        marks.chosen[i] = 1;
        marks.weakness[i] = std::numeric_limits<float>::infinity();
      }
  }
  return spans_from_marks(marks, params_.max_fraction, params_.dilate);
}

std::unique_ptr<SpanSelector> make_span_selector(const SpanParams& params, Refiner* refiner) {
  switch (params.strategy) {
    case SpanStrategy::kLogprob: return std::make_unique<LogprobSelector>(params);
    case SpanStrategy::kEntropy: return std::make_unique<EntropySelector>(params);
    case SpanStrategy::kRefinerConfidence:
      if (!refiner) fail("span selection", "refiner_confidence needs a refiner");
      return std::make_unique<RefinerConfidenceSelector>(params, *refiner);
    case SpanStrategy::kRandom: return std::make_unique<RandomSelector>(params);
    case SpanStrategy::kRanges: return std::make_unique<RangesSelector>(params);
  }
  fail("span selection", "unknown strategy");
}

}  // namespace sculpt
