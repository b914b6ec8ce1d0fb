// Span selection shared by every selector: repeats first, the cap, dilation, merging.
#include "diffusion_refine/span_selector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "diffusion_refine/ngram_repeats.h"

namespace sculpt {

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

std::vector<Span> SpanSelector::select(const DraftView& draft, Marks* marks_out) {
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
  std::vector<Span> spans = spans_from_marks(marks, params_.max_fraction, params_.dilate);
  if (marks_out) *marks_out = std::move(marks);
  return spans;
}

const char* span_strategy_name(SpanStrategy strategy) {
  switch (strategy) {
    case SpanStrategy::kLogprob: return "logprob";
    case SpanStrategy::kEntropy: return "entropy";
    case SpanStrategy::kRefinerConfidence: return "refiner_confidence";
    case SpanStrategy::kCombined: return "combined";
    case SpanStrategy::kRandom: return "random";
    case SpanStrategy::kRanges: return "ranges";
  }
  return "?";
}

}  // namespace sculpt
