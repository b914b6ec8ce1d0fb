// Span selection: thresholds, the share cap, widening and merging, user ranges.
#include "diffusion_refine/span_selectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

std::vector<std::pair<int64_t, int64_t>> pairs(const std::vector<Span>& spans) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const Span& s : spans) out.push_back({s.begin, s.end});
  return out;
}
using P = std::vector<std::pair<int64_t, int64_t>>;

DraftView draft_with(std::vector<float> logprobs, std::vector<float> entropies = {}) {
  DraftView d;
  d.tokens.assign(logprobs.size(), 5);
  d.logprobs = std::move(logprobs);
  d.entropies = std::move(entropies);
  return d;
}

TEST(SpanSelectorTest, LogprobBelowThresholdMergesNeighbours) {
  SpanParams p;
  p.logprob_threshold = -2.0;
  p.max_fraction = 1.0;
  auto selector = make_span_selector(p);
  EXPECT_EQ(pairs(selector->select(draft_with({-0.1f, -3.0f, -2.5f, -0.2f, -2.0f, -7.0f}))), (P{{1, 3}, {5, 6}}));
}

TEST(SpanSelectorTest, EntropyAboveThreshold) {
  SpanParams p;
  p.strategy = SpanStrategy::kEntropy;
  p.entropy_threshold = 1.0;
  p.max_fraction = 1.0;
  auto selector = make_span_selector(p);
  EXPECT_EQ(pairs(selector->select(draft_with({0, 0, 0, 0}, {0.5f, 1.5f, 1.0f, 2.0f}))), (P{{1, 2}, {3, 4}}));
}

TEST(SpanSelectorTest, CapKeepsTheWeakestThenDilates) {
  SpanSelector::Marks m;
  m.weakness = {5, 1, 9, 2, 8, 0, 0, 0, 0, 0};
  m.chosen = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  EXPECT_EQ(pairs(spans_from_marks(m, /*max_fraction=*/0.3, /*dilate=*/0)), (P{{0, 1}, {2, 3}, {4, 5}}));
  EXPECT_EQ(pairs(spans_from_marks(m, 0.2, 1)), (P{{1, 6}}));  // 2 and 4, widened
  EXPECT_EQ(pairs(spans_from_marks(m, 0.0, 3)), P{});
}

TEST(SpanSelectorTest, RepeatedNgramsComeFirstUnderTheCap) {
  SpanParams p;
  p.logprob_threshold = -2.0;
  p.max_fraction = 0.25;  // two of eight tokens
  p.repeat_ngram = 2;
  DraftView d = draft_with({-0.1f, -0.1f, -9.0f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f});
  d.tokens = {1, 2, 3, 4, 1, 2, 6, 7};  // (1 2) again at 4-5: token 5 ends a repeat
  EXPECT_EQ(pairs(make_span_selector(p)->select(d)), (P{{2, 3}, {5, 6}}));
  p.max_fraction = 0.125;  // one token: the repeat wins over the weakest log-probability
  EXPECT_EQ(pairs(make_span_selector(p)->select(d)), (P{{5, 6}}));
  p.repeat_ngram = 0;
  EXPECT_EQ(pairs(make_span_selector(p)->select(d)), (P{{2, 3}}));
}

TEST(SpanSelectorTest, RandomIsSeededAndNearItsFraction) {
  SpanParams p;
  p.strategy = SpanStrategy::kRandom;
  p.random_fraction = 0.2;
  p.max_fraction = 1.0;
  p.seed = 4;
  DraftView d = draft_with(std::vector<float>(5000, 0.0f));
  auto a = make_span_selector(p)->mark(d), b = make_span_selector(p)->mark(d);
  EXPECT_EQ(a.chosen, b.chosen);
  int64_t n = 0;
  for (uint8_t c : a.chosen) n += c;
  EXPECT_NEAR(double(n) / 5000, 0.2, 0.03);
}

TEST(SpanSelectorTest, RangesAreCheckedAgainstTheDraft) {
  EXPECT_EQ(pairs(parse_token_ranges({"2:4", "7:9"}, 10)), (P{{2, 4}, {7, 9}}));
  for (const char* bad : {"4:2", "3", "a:b", "1:11", "-1:2", "2:4x"})
    EXPECT_THAT([&] { parse_token_ranges({bad}, 10); }, ::testing::ThrowsMessage<Error>(HasSubstr(bad))) << bad;
}

TEST(SpanSelectorTest, StrategiesNeedTheirInputs) {
  SpanParams p;
  EXPECT_THAT([&] { make_span_selector(p)->select(draft_with({})); }, ::testing::Not(::testing::Throws<Error>()));
  DraftView no_scores;
  no_scores.tokens = {1, 2, 3};
  EXPECT_THAT([&] { make_span_selector(p)->select(no_scores); }, ::testing::ThrowsMessage<Error>(HasSubstr("log-probabilities")));
  p.strategy = SpanStrategy::kRefinerConfidence;
  EXPECT_THAT([&] { make_span_selector(p); }, ::testing::ThrowsMessage<Error>(HasSubstr("needs a refiner")));
}

}  // namespace
}  // namespace sculpt
