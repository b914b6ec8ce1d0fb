// Tests of the token sampler: each filter against its definition on tiny hand-made
// distributions; the random stream against LibTorch's generator bit for bit; the seeded sampler
// against LibTorch's own filters and at::multinomial on random rows (the same tokens, draw for
// draw); then determinism, support, frequencies and the reported statistics.
#include "core/sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/logit_filters.h"
#include "core/sample_rows.h"

namespace sculpt {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// A row of logits whose softmax is `probs` (rounded to float, as a model's logits are).
std::vector<double> logits_of(const std::vector<double>& probs) {
  std::vector<double> row;
  for (double p : probs) row.push_back(double(float(std::log(p))));
  return row;
}

// The token ids whose logit is not -inf.
std::vector<int64_t> support(const std::vector<double>& row) {
  std::vector<int64_t> ids;
  for (size_t i = 0; i < row.size(); ++i)
    if (!std::isinf(row[i])) ids.push_back(int64_t(i));
  return ids;
}

// Each filter as a function of a copy of the row.
std::vector<double> top_k(std::vector<double> row, int64_t k) { return apply_top_k(row, k), row; }
std::vector<double> top_p(std::vector<double> row, double p) { return apply_top_p(row, p), row; }
std::vector<double> min_p(std::vector<double> row, double p) { return apply_min_p(row, p), row; }
std::vector<double> temperature(std::vector<double> row, double t) { return apply_temperature(row, t), row; }
std::vector<double> penalized(std::vector<double> row, const std::vector<TokenId>& context, double penalty) {
  return apply_repetition_penalty(row, context, penalty), row;
}

const std::vector<double> kFive = {0.5, 0.2, 0.15, 0.1, 0.05};

// --- Filters ------------------------------------------------------------------------------

TEST(SamplerFilterTest, TopKKeepsExactlyTheKMostLikely) {
  struct Row { int64_t k; std::vector<int64_t> kept; };
  for (const Row& row : std::vector<Row>{{1, {0}}, {2, {0, 1}}, {4, {0, 1, 2, 3}},
                                          {0, {0, 1, 2, 3, 4}}, {9, {0, 1, 2, 3, 4}}}) {
    EXPECT_EQ(support(top_k(logits_of(kFive), row.k)), row.kept) << "k=" << row.k;
  }
}

TEST(SamplerFilterTest, TopKKeepsValuesAndBreaksTiesTowardLowerIds) {
  EXPECT_EQ(top_k({1, 3, 3, 3, 0}, 2), (std::vector<double>{kNegInf, 3, 3, kNegInf, kNegInf}));
  EXPECT_EQ(top_k({3, 3, 3, 3}, 3), (std::vector<double>{3, 3, 3, kNegInf}));
}

TEST(SamplerFilterTest, TopPKeepsTheSmallestPrefixReachingP) {
  struct Row { double p; std::vector<int64_t> kept; };
  for (const Row& row : std::vector<Row>{{0.7, {0, 1}}, {0.71, {0, 1, 2}}, {0.5, {0}},
                                          {0.51, {0, 1}}, {0.01, {0}}, {0.96, {0, 1, 2, 3, 4}},
                                          {1.0, {0, 1, 2, 3, 4}}}) {
    EXPECT_EQ(support(top_p(logits_of(kFive), row.p)), row.kept) << "top_p=" << row.p;
  }
}

TEST(SamplerFilterTest, TopPBreaksTiesTowardLowerIdsAndIgnoresOrder) {
  EXPECT_EQ(support(top_p(logits_of({0.25, 0.25, 0.25, 0.25}), 0.5)), (std::vector<int64_t>{0, 1}));
  // The same distribution, shuffled: the kept set follows the probabilities, not positions.
  EXPECT_EQ(support(top_p(logits_of({0.1, 0.5, 0.05, 0.2, 0.15}), 0.7)), (std::vector<int64_t>{1, 3}));
}

// A drafter's vocabulary: 2 rows of 4,096 logits with runs of exact ties, at values of top_p
// whose kept sets run from one token to nearly all of them (past the first 64 that the filter
// sorts before sorting more). Reference, from the definition: token i is kept when it is the
// most likely (lowest id among ties) or the probability of the tokens before it (more likely,
// or as likely with a lower id) is below top_p - 1e-6.
TEST(SamplerFilterTest, TopPOverAFullVocabularyMatchesItsDefinition) {
  const int64_t n_vocab = 4096;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int64_t r = 0; r < 2; ++r) {
    std::vector<double> logits(static_cast<size_t>(n_vocab));
    for (double& x : logits) x = normal(rng);
    std::fill(logits.begin() + 100, logits.begin() + 140, 3.0);  // ties among likely tokens
    if (r == 1) std::fill(logits.begin() + 2000, logits.begin() + 2900, -1.0);
    std::vector<double> p = logits;
    softmax_in_place(p);
    for (double mass : {0.05, 0.3, 0.6, 0.9, 0.99, 0.999999}) {
      int64_t top = 0;
      for (int64_t j = 1; j < n_vocab; ++j) if (p[size_t(j)] > p[size_t(top)]) top = j;
      std::vector<int64_t> want;
      for (int64_t i = 0; i < n_vocab; ++i) {
        double before = 0;
        for (int64_t j = 0; j < n_vocab; ++j)
          if (p[size_t(j)] > p[size_t(i)] || (p[size_t(j)] == p[size_t(i)] && j < i)) before += p[size_t(j)];
        if (i == top || before < mass - 1e-6) want.push_back(i);
      }
      EXPECT_EQ(support(top_p(logits, mass)), want) << "top_p=" << mass << " row " << r;
      if (mass == 0.999999) {
        EXPECT_GT(want.size(), 1000u);
      }
    }
  }
}

TEST(SamplerFilterTest, MinPKeepsTokensAtLeastMinPTimesTheMax) {
  struct Row { double min_p; std::vector<int64_t> kept; };
  for (const Row& row : std::vector<Row>{{0.25, {0, 1, 2}},   // p >= 0.125
                                          {0.35, {0, 1}},      // p >= 0.175
                                          {0.15, {0, 1, 2, 3}},  // p >= 0.075
                                          {1.0, {0}},
                                          {0.0, {0, 1, 2, 3, 4}}}) {
    EXPECT_EQ(support(min_p(logits_of(kFive), row.min_p)), row.kept) << "min_p=" << row.min_p;
  }
}

TEST(SamplerFilterTest, FiltersKeepTheLogitsOfKeptTokensUnchanged) {
  const std::vector<double> logits = logits_of(kFive);
  for (const std::vector<double>& out : {top_k(logits, 3), top_p(logits, 0.8), min_p(logits, 0.25)}) {
    for (int64_t i : support(out)) EXPECT_EQ(out[size_t(i)], logits[size_t(i)]);
  }
}

TEST(SamplerFilterTest, TemperatureDividesLogitsExactly) {
  const std::vector<double> logits = {1, 2, -3, 0, kNegInf};
  EXPECT_EQ(temperature(logits, 0.5), (std::vector<double>{2, 4, -6, 0, kNegInf}));
  EXPECT_EQ(temperature(logits, 2.0), (std::vector<double>{0.5, 1, -1.5, 0, kNegInf}));
}

TEST(SamplerFilterTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeContextLogits) {
  const std::vector<double> logits = {2, -2, 3, -1};
  // Tokens 0 and 1 (1 twice: penalized once), then token 3 alone.
  EXPECT_EQ(penalized(logits, {0, 1, 1}, 2.0), (std::vector<double>{1, -4, 3, -1}));
  EXPECT_EQ(penalized(logits, {3}, 2.0), (std::vector<double>{2, -2, 3, -2}));
  EXPECT_EQ(penalized(logits, {}, 2.0), logits);  // no context: nothing changes
}

TEST(SamplerFilterTest, SoftmaxIsExpOverItsSumWithMaskedTokensZero) {
  std::vector<double> row = {std::log(3.0), kNegInf, 0.0};
  softmax_in_place(row);
  EXPECT_NEAR(row[0], 0.75, 1e-15);
  EXPECT_EQ(row[1], 0.0);
  EXPECT_NEAR(row[2], 0.25, 1e-15);
  std::vector<double> masked = {kNegInf, kNegInf};
  EXPECT_THROW(softmax_in_place(masked), Error);
}

TEST(SamplerFilterTest, HelpersRejectBadInput) {
  std::vector<double> good = logits_of(kFive), nan = {0, std::nan(""), 1}, inf = {0, double(kInf)}, empty;
  EXPECT_THROW(apply_top_k(empty, 1), Error);
  EXPECT_THROW(apply_min_p(nan, 0.1), Error);
  EXPECT_THROW(apply_temperature(nan, 1.0), Error);
  EXPECT_THROW(apply_top_p(inf, 0.5), Error);
  EXPECT_THROW(apply_temperature(good, 0.0), Error);
  EXPECT_THROW(apply_top_k(good, -1), Error);
  EXPECT_THROW(apply_top_p(good, 0.0), Error);
  EXPECT_THROW(apply_top_p(good, 1.5), Error);
  EXPECT_THROW(apply_min_p(good, -0.1), Error);
  EXPECT_THROW(apply_repetition_penalty(good, {5}, 2.0), Error);  // id out of range
  EXPECT_THROW(apply_repetition_penalty(good, {0}, 0.0), Error);
  EXPECT_EQ(good, logits_of(kFive));  // a rejected call changes nothing
}

// --- The random stream (core/sampler_random.h) --------------------------------------------

// Exp(1) draws in double from LibTorch's CPU generator and from SamplerRandom, seed for seed,
// across several refills of MT19937's 624 words: equal bit for bit. Seeds past 2^32 keep their
// low 32 bits in both.
TEST(SamplerRandomTest, DrawsWhatLibTorchsGeneratorDrawsBitForBit) {
  for (const uint64_t seed : {uint64_t(0), uint64_t(1), uint64_t(42), (uint64_t(1) << 32) + 7, uint64_t(123456789012)}) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor want = at::empty({3000}, at::kDouble).exponential_(1.0, gen);
    SamplerRandom random(seed);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < want.size(0); ++i) mismatches += random.exponential() != want[i].item<double>();
    EXPECT_EQ(mismatches, 0) << "seed " << seed;
  }
}

// --- The sampler against LibTorch ---------------------------------------------------------

SamplerParams params_with(double temperature, int top_k = 0, double top_p = 1.0,
                          double min_p = 0.0, double repetition_penalty = 1.0, int64_t seed = 0) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repetition_penalty = repetition_penalty;
  p.seed = seed;
  return p;
}

// The sampler as LibTorch computes it, from the definitions, with tensor operations: the
// filters, at::softmax and at::multinomial drawing from `gen`.
int64_t reference_draw(at::Tensor row /*double [n_vocab]*/, const SamplerParams& p, const std::vector<TokenId>& context,
                       at::Generator& gen) {
  row = row.clone();
  std::unordered_set<TokenId> seen;
  for (TokenId id : context) {
    if (!seen.insert(id).second) continue;
    const double x = row[id].item<double>();
    row[id] = x > 0 ? x / p.repetition_penalty : x * p.repetition_penalty;
  }
  row = row / p.temperature;
  const int64_t n_vocab = row.size(0);
  if (p.top_k > 0 && p.top_k < n_vocab) {
    const at::Tensor order = std::get<1>(at::sort(row, /*stable=*/true, /*dim=*/0, /*descending=*/true));
    row.index_fill_(0, order.narrow(0, p.top_k, n_vocab - p.top_k), kNegInf);
  }
  if (p.top_p < 1) {
    auto [sorted, order] = at::sort(at::softmax(row, /*dim=*/0), /*stable=*/true, /*dim=*/0, /*descending=*/true);
    at::Tensor drop = (at::cumsum(sorted, /*dim=*/0) - sorted) >= p.top_p - 1e-6;  // mass before each
    drop[0] = false;
    row.index_fill_(0, order.masked_select(drop), kNegInf);
  }
  if (p.min_p > 0) row.masked_fill_(at::exp(row - row.max()) < p.min_p, kNegInf);
  const at::Tensor probs = at::softmax(row, /*dim=*/0);
  return at::multinomial(probs, /*num_samples=*/1, /*replacement=*/false, gen).item<int64_t>();
}

// 240 random rows of 2 to 5,000 logits, some with masked (-inf) tokens and runs of ties, under
// settings from plain sampling to every filter at once, each row drawn from 4 times in a row
// by the same sampler: every draw is LibTorch's.
TEST(TokenSamplerTest, DrawsWhatLibTorchsFiltersAndMultinomialDraw) {
  std::mt19937 rng(11);
  const std::vector<SamplerParams> settings = {
      params_with(1.0), params_with(0.7, 0, 1.0, 0.0, 1.0, 3), params_with(1.3, 40, 1.0, 0.0, 1.0, 5),
      params_with(0.8, 0, 0.9, 0.0, 1.0, 7), params_with(1.0, 0, 1.0, 0.05, 1.0, 9),
      params_with(0.9, 100, 0.95, 0.01, 1.2, (int64_t(1) << 33) + 1)};
  int64_t n_draws = 0, n_distinct = 0;
  for (int64_t c = 0; c < 240; ++c) {
    const SamplerParams& params = settings[size_t(c) % settings.size()];
    const int64_t n_vocab = 2 + int64_t(rng() % 4999);
    std::vector<double> logits(static_cast<size_t>(n_vocab));
    std::normal_distribution<double> normal(0.0, 1.0 + double(rng() % 4));
    for (double& x : logits) x = double(float(normal(rng)));
    if (c % 4 == 1) for (size_t i = 0; i < logits.size(); i += 3) logits[i] = kNegInf;
    if (c % 4 == 2) std::fill(logits.begin(), logits.begin() + n_vocab / 2, 0.5);
    if (c % 4 == 1 && std::isinf(logits[1])) logits[1] = 0.0;  // a finite maximum
    std::vector<TokenId> context;
    for (int i = 0; i < 8; ++i) context.push_back(TokenId(rng() % uint64_t(n_vocab)));
    SamplerParams seeded = params;
    seeded.seed += c;
    TokenSampler sampler(seeded);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(seeded.seed));
    const at::Tensor row = at::tensor(logits, at::kDouble);
    std::set<int64_t> drawn;
    for (int draw = 0; draw < 4; ++draw) {
      const int64_t want = reference_draw(row, params, context, gen);
      EXPECT_EQ(sampler.sample(logits.data(), n_vocab, context).id, want) << "case " << c << ", draw " << draw;
      drawn.insert(want);
      ++n_draws;
    }
    n_distinct += int64_t(drawn.size());
  }
  std::printf("%lld draws, %lld distinct tokens per row summed\n", (long long)n_draws, (long long)n_distinct);
  EXPECT_GT(n_distinct, n_draws / 2);  // the draws are random, not the argmax every time
}

// The rows of a tensor draw in order from one stream, each with its own context.
TEST(TokenSamplerTest, SampleRowsDrawsEachRowInOrder) {
  at::manual_seed(3);
  const at::Tensor logits = at::randn({3, 500}) * 2;  // float
  const std::vector<std::vector<TokenId>> contexts = {{1, 2}, {}, {499}};
  const SamplerParams params = params_with(0.9, 0, 0.95, 0.0, 1.3, 21);
  TokenSampler by_rows(params), one_by_one(params);
  const std::vector<SampledToken> got = sample_rows(logits, contexts, by_rows);
  ASSERT_EQ(got.size(), 3u);
  for (int64_t r = 0; r < 3; ++r)
    EXPECT_EQ(got[size_t(r)].id, one_by_one.sample(logits[r].contiguous().data_ptr<float>(), 500, contexts[size_t(r)]).id);
  EXPECT_THROW(sample_rows(logits, {{1}}, by_rows), Error);  // one context list for 3 rows
  EXPECT_THROW(sample_rows(logits[0], {}, by_rows), Error);  // not [batch, n_vocab]
  EXPECT_THROW(sample_rows(at::zeros({2, 3}, at::kLong), {}, by_rows), Error);
}

// draw_rows draws what sample_rows draws and uses the random stream the same way: over several
// rounds from one seed, sampled and greedy (with a repetition penalty), the ids agree.
TEST(TokenSamplerTest, DrawRowsDrawsTheTokensSampleRowsDraws) {
  at::manual_seed(4);
  const std::vector<std::vector<TokenId>> contexts = {{1, 2}, {}, {499}, {7, 7}};
  for (double temperature : {0.9, 0.0}) {
    SCOPED_TRACE(temperature);
    const SamplerParams params = params_with(temperature, 0, 0.95, 0.0, 1.3, 22);
    TokenSampler ids_only(params), with_stats(params);
    for (int round = 0; round < 5; ++round) {
      const at::Tensor logits = at::randn({4, 500}) * 3;
      std::vector<TokenId> expected;
      for (const SampledToken& t : sample_rows(logits, contexts, with_stats)) expected.push_back(t.id);
      EXPECT_EQ(draw_rows(logits, contexts, ids_only), expected);
    }
  }
  TokenSampler sampler(SamplerParams{});
  EXPECT_THROW(draw_rows(at::randn({2, 5}), {{1}}, sampler), Error);  // one context list for 2 rows
  EXPECT_THROW(draw_rows(at::zeros({2, 3}, at::kLong), {}, sampler), Error);
}

// --- The sampler's contract ---------------------------------------------------------------

std::vector<int64_t> draw(TokenSampler& sampler, const std::vector<double>& logits, int64_t n_draws,
                          const std::vector<TokenId>& context = {}) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n_draws; ++i) ids.push_back(sampler.sample(logits.data(), int64_t(logits.size()), context).id);
  return ids;
}

TEST(TokenSamplerTest, GreedyPicksTheArgmaxAndHonoursThePenalty) {
  TokenSampler greedy(params_with(0.0));
  EXPECT_EQ(draw(greedy, {0, 3, 1}, 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(draw(greedy, {1, 4, 4}, 1), (std::vector<int64_t>{1}));  // a tie goes to the first index
  TokenSampler penalized(params_with(0.0, 0, 1.0, 0.0, /*repetition_penalty=*/2.0));
  EXPECT_EQ(draw(penalized, {2, 1.5}, 1, {0}), (std::vector<int64_t>{1}));  // [2, 1.5] -> [1, 1.5]
}

TEST(TokenSamplerTest, SameSeedGivesSameTokensAndSeedsDiffer) {
  const std::vector<double> uniform(10, 0.0);  // 200 uniform draws over 10 tokens
  TokenSampler a(params_with(1.0, 0, 1.0, 0.0, 1.0, 7)), b(params_with(1.0, 0, 1.0, 0.0, 1.0, 7));
  TokenSampler c(params_with(1.0, 0, 1.0, 0.0, 1.0, 8));
  const std::vector<int64_t> from_a = draw(a, uniform, 200);
  EXPECT_EQ(from_a, draw(b, uniform, 200));
  EXPECT_NE(from_a, draw(c, uniform, 200));
  EXPECT_NE(from_a, draw(a, uniform, 200));  // the stream advanced
}

TEST(TokenSamplerTest, NeverDrawsAFilteredOutToken) {
  struct Row { SamplerParams params; std::set<int64_t> allowed; };
  for (const Row& row : std::vector<Row>{{params_with(1.5, 2), {0, 1}},
                                          {params_with(1.0, 0, 0.71), {0, 1, 2}},
                                          {params_with(1.0, 0, 1.0, 0.25), {0, 1, 2}},
                                          {params_with(0.5, 0, 1.0, 0.25), {0}},  // p^2
                                          {params_with(1.0, 4, 0.7), {0, 1}}}) {
    TokenSampler sampler(row.params);
    const std::vector<int64_t> ids = draw(sampler, logits_of(kFive), 2000);
    EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()), row.allowed);  // every allowed token shows up, nothing else does
  }
}

TEST(TokenSamplerTest, FrequenciesMatchTheDistribution) {
  const std::vector<double> probs = {0.6, 0.3, 0.1};
  const int64_t n_draws = 2000;
  TokenSampler sampler(params_with(1.0, 0, 1.0, 0.0, 1.0, 2024));
  std::vector<int64_t> counts(3, 0);
  for (int64_t id : draw(sampler, logits_of(probs), n_draws)) ++counts.at(size_t(id));
  for (size_t i = 0; i < probs.size(); ++i) {
    const double freq = double(counts[i]) / n_draws;
    const double std_err = std::sqrt(probs[i] * (1 - probs[i]) / n_draws);
    EXPECT_LT(std::abs(freq - probs[i]), 4 * std_err) << "token " << i << " freq " << freq;
  }
}

TEST(TokenSamplerTest, ReportsLogprobAndEntropyUnderTheModel) {
  // p = [0.5, 0.25, 0.25] shifted by 3: entropy = 1.5 ln 2 nats.
  std::vector<double> logits = logits_of({0.5, 0.25, 0.25});
  for (double& x : logits) x += 3.0;
  // Greedy and a heavily filtered sampler report the same model statistics.
  for (const SamplerParams& params : {params_with(0.0), params_with(0.1, 1, 0.2, 0.9, 3.0)}) {
    TokenSampler sampler(params);
    const SampledToken t = sampler.sample(logits.data(), 3, {1});
    EXPECT_EQ(t.id, 0);
    EXPECT_NEAR(t.logprob, std::log(0.5), 1e-6);
    EXPECT_NEAR(t.entropy, 1.5 * std::log(2.0), 1e-6);
  }
  // A masked (-inf) token adds nothing to the entropy; a certain token has logprob 0.
  TokenSampler sampler(params_with(1.0));
  const std::vector<float> certain_row = {1.f, -kInf};
  const SampledToken certain = sampler.sample(certain_row.data(), 2, {});
  EXPECT_EQ(certain.id, 0);
  EXPECT_NEAR(certain.logprob, 0.0, 1e-7);
  EXPECT_NEAR(certain.entropy, 0.0, 1e-7);
  // The logprob of a sampled token is its own: draw token 1 with p = 0.25 via top_k = 1 after
  // a penalty that makes it the largest (log 0.5 < 0 -> * 100; token 1 wins the tie with 2).
  TokenSampler top1(params_with(1.0, 1, 1.0, 0.0, 100.0));
  const SampledToken second = top1.sample(logits_of({0.5, 0.25, 0.25}).data(), 3, {0});
  EXPECT_EQ(second.id, 1);
  EXPECT_NEAR(second.logprob, std::log(0.25), 1e-6);
}

TEST(TokenSamplerTest, RejectsBadLogitsAndParams) {
  TokenSampler sampler(SamplerParams{});
  EXPECT_THROW(sampler.sample(std::vector<float>{0.f, std::nanf("")}.data(), 2, {}), Error);
  EXPECT_THROW(sampler.sample(std::vector<float>{0.f, kInf}.data(), 2, {}), Error);
  EXPECT_THROW(sampler.sample(std::vector<float>{-kInf, -kInf}.data(), 2, {}), Error);
  SamplerParams penalized;
  penalized.repetition_penalty = 1.5;
  TokenSampler with_penalty(penalized);
  EXPECT_THROW(with_penalty.sample(std::vector<float>{0.f, 1.f}.data(), 2, {2}), Error);  // id outside the vocabulary
  SamplerParams bad;
  bad.top_p = 0.0;
  EXPECT_THROW(TokenSampler{bad}, Error);
}

// --- The greedy choice without LibTorch (core/sampled_token.h) ---------------------------

TEST(GreedyTokenTest, TakesTheFirstArgmaxOfThePenalizedRowInFloatAndDouble) {
  const std::vector<float> row = {1.f, 4.f, 4.f, -2.f};
  const std::vector<double> wide(row.begin(), row.end());
  EXPECT_EQ(greedy_token(row.data(), 4, {}, 1.0).id, 1);  // a tie goes to the first index
  EXPECT_EQ(greedy_token(wide.data(), 4, {}, 1.0).id, 1);
  // Token 1 penalized by 2 (4 -> 2) leaves token 2; each context id counts once.
  EXPECT_EQ(greedy_token(row.data(), 4, {1, 1, 1}, 2.0).id, 2);
  // Positive logits are divided: with 1 and 2 penalized by 10 (4 -> 0.4), token 0 wins.
  EXPECT_EQ(greedy_token(row.data(), 4, {1, 2}, 10.0).id, 0);
  // Negative ones are multiplied: -1 penalized by 4 is -4, below -3.
  EXPECT_EQ(greedy_token(std::vector<float>{-1.f, -3.f}.data(), 2, {0}, 4.0).id, 1);
  for (const std::vector<TokenId>& context : {std::vector<TokenId>{}, {1, 1, 1}, {1, 2}})
    EXPECT_EQ(greedy_id(row.data(), 4, context, 10.0), greedy_token(row.data(), 4, context, 10.0).id);
  // The reported statistics are the model's, before the penalty: log softmax of the raw row.
  const SampledToken t = greedy_token(row.data(), 4, {1, 2}, 10.0);
  double z = 0;
  for (float x : row) z += std::exp(double(x));
  double entropy = 0;
  for (float x : row) entropy -= std::exp(x) / z * (x - std::log(z));
  EXPECT_NEAR(t.logprob, 1.0 - std::log(z), 1e-6);
  EXPECT_NEAR(t.entropy, entropy, 1e-6);
}

// Against LibTorch: the first argmax of the penalized row, and the model's log_softmax of the
// raw row.
TEST(GreedyTokenTest, AgreesWithLibTorchsArgmaxAndLogSoftmax) {
  at::manual_seed(5);
  const at::Tensor logits = at::randn({4, 300}) * 3;  // float
  const std::vector<std::vector<int64_t>> contexts = {{1, 2}, {}, {299, 0, 0}, {7}};
  for (int64_t r = 0; r < 4; ++r) {
    const at::Tensor raw = logits[r].to(at::kDouble);
    at::Tensor penalized_row = raw.clone();
    for (int64_t id : std::set<int64_t>(contexts[size_t(r)].begin(), contexts[size_t(r)].end())) {
      const double x = raw[id].item<double>();
      penalized_row[id] = x > 0 ? x / 1.7 : x * 1.7;
    }
    const int64_t want = penalized_row.argmax().item<int64_t>();
    const at::Tensor log_p = at::log_softmax(raw, /*dim=*/0);
    const SampledToken got = greedy_token(logits[r].contiguous().data_ptr<float>(), 300, contexts[size_t(r)], 1.7);
    EXPECT_EQ(got.id, want);
    EXPECT_NEAR(got.logprob, log_p[want].item<double>(), 1e-6);
    EXPECT_NEAR(got.entropy, -(log_p.exp() * log_p).sum().item<double>(), 1e-6);
  }
}

TEST(GreedyTokenTest, RejectsBadLogitsContextsAndPenalties) {
  const std::vector<float> ok = {0.f, 1.f};
  EXPECT_THROW(greedy_token(std::vector<float>{0.f, std::nanf("")}.data(), 2, {}, 1.0), Error);
  EXPECT_THROW(greedy_token(std::vector<float>{0.f, kInf}.data(), 2, {}, 1.0), Error);
  EXPECT_THROW(greedy_token(std::vector<float>{-kInf, -kInf}.data(), 2, {}, 1.0), Error);
  EXPECT_THROW(greedy_token(ok.data(), 2, {2}, 1.5), Error);   // a context id outside the vocabulary
  EXPECT_THROW(greedy_token(ok.data(), 2, {-1}, 1.5), Error);
  EXPECT_THROW(greedy_token(ok.data(), 2, {}, 0.0), Error);    // the penalty must be > 0
  EXPECT_THROW(greedy_token(ok.data(), 2, {}, kInf), Error);
}

// --- Params -------------------------------------------------------------------------------

TEST(SamplerParamsTest, LoadsFromYamlWithinRanges) {
  SamplerParams params;
  load_config_string(
      "temperature: 0\ntop_k: 40\ntop_p: 0.9\nmin_p: 0.05\nrepetition_penalty: 1.1\nseed: 9\n",
      "test.yaml", params);
  EXPECT_EQ(params.temperature, 0.0);
  EXPECT_EQ(params.top_k, 40);
  EXPECT_EQ(params.top_p, 0.9);
  EXPECT_EQ(params.min_p, 0.05);
  EXPECT_EQ(params.repetition_penalty, 1.1);
  EXPECT_EQ(params.seed, 9);
}

TEST(SamplerParamsTest, RejectsOutOfRangeValues) {
  for (const char* bad :
       {"temperature=-0.1", "temperature=101", "top_k=-1", "top_p=0", "top_p=1.01",
        "min_p=-0.5", "min_p=1.5", "repetition_penalty=0", "repetition_penalty=101", "seed=-1"}) {
    SamplerParams params;
    EXPECT_THROW(apply_override(params, bad), Error) << bad;
    EXPECT_EQ(params.top_p, SamplerParams{}.top_p);  // left unchanged
  }
}

}  // namespace
}  // namespace sculpt
