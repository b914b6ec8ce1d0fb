// Tests of the drafter's samplers: each filter against its definition on tiny hand-made
// distributions, then the seeded sampler (determinism, support, frequencies, reported stats).
#include "core/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace sculpt {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// One row of logits [1, n_vocab] whose softmax is `probs`.
at::Tensor logits_of(const std::vector<double>& probs) {
  return at::log(at::tensor(probs, at::kDouble)).to(at::kFloat).unsqueeze(0);
}

at::Tensor row_of(const std::vector<float>& values) {
  return at::tensor(values, at::kFloat).unsqueeze(0);  // [1, n_vocab]
}

// The token ids whose logit is not -inf in row `r`.
std::vector<int64_t> support(const at::Tensor& logits, int64_t r = 0) {
  at::Tensor row = logits.dim() == 1 ? logits : logits[r];
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < row.size(0); ++i)
    if (!std::isinf(row[i].item<double>())) ids.push_back(i);
  return ids;
}

std::vector<float> values(const at::Tensor& t) {
  at::Tensor flat = t.to(at::kFloat).contiguous().view(-1);
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

std::vector<int64_t> ids_of(const std::vector<SampledToken>& tokens) {
  std::vector<int64_t> ids;
  for (const SampledToken& t : tokens) ids.push_back(t.id);
  return ids;
}

const std::vector<double> kFive = {0.5, 0.2, 0.15, 0.1, 0.05};

// --- Filters ------------------------------------------------------------------------------

TEST(SamplerFilterTest, TopKKeepsExactlyTheKMostLikely) {
  struct Row { int64_t k; std::vector<int64_t> kept; };
  for (const Row& row : std::vector<Row>{{1, {0}}, {2, {0, 1}}, {4, {0, 1, 2, 3}},
                                          {0, {0, 1, 2, 3, 4}}, {9, {0, 1, 2, 3, 4}}}) {
    EXPECT_EQ(support(apply_top_k(logits_of(kFive), row.k)), row.kept) << "k=" << row.k;
  }
}

TEST(SamplerFilterTest, TopKKeepsValuesAndBreaksTiesTowardLowerIds) {
  at::Tensor out = apply_top_k(row_of({1.f, 3.f, 3.f, 3.f, 0.f}), 2);
  EXPECT_EQ(values(out), (std::vector<float>{-kInf, 3.f, 3.f, -kInf, -kInf}));
}

TEST(SamplerFilterTest, TopPKeepsTheSmallestPrefixReachingP) {
  struct Row { double p; std::vector<int64_t> kept; };
  for (const Row& row : std::vector<Row>{{0.7, {0, 1}}, {0.71, {0, 1, 2}}, {0.5, {0}},
                                          {0.51, {0, 1}}, {0.01, {0}}, {0.96, {0, 1, 2, 3, 4}},
                                          {1.0, {0, 1, 2, 3, 4}}}) {
    EXPECT_EQ(support(apply_top_p(logits_of(kFive), row.p)), row.kept) << "top_p=" << row.p;
  }
}

TEST(SamplerFilterTest, TopPBreaksTiesTowardLowerIdsAndIgnoresOrder) {
  EXPECT_EQ(support(apply_top_p(logits_of({0.25, 0.25, 0.25, 0.25}), 0.5)),
            (std::vector<int64_t>{0, 1}));
  // The same distribution, shuffled: the kept set follows the probabilities, not positions.
  EXPECT_EQ(support(apply_top_p(logits_of({0.1, 0.5, 0.05, 0.2, 0.15}), 0.7)),
            (std::vector<int64_t>{1, 3}));
}

// A drafter's vocabulary: 2 rows of 4,096 logits with runs of exact ties, at values of top_p
// whose kept sets run from one token to nearly all of them (past the first 64 that the filter
// sorts before sorting more). Reference, from the definition: token i is kept when it is the
// most likely (lowest id among ties) or the probability of the tokens before it (more likely,
// or as likely with a lower id) is below top_p - 1e-6.
TEST(SamplerFilterTest, TopPOverAFullVocabularyMatchesItsDefinition) {
  const int64_t n_vocab = 4096;
  at::manual_seed(7);
  at::Tensor logits = at::randn({2, n_vocab}, at::kFloat) * 2.0;
  logits.narrow(1, 100, 40).fill_(3.0);  // ties among likely tokens
  logits[1].narrow(0, 2000, 900).fill_(-1.0);
  const at::Tensor probs = at::softmax(logits.to(at::kDouble), -1);
  for (double top_p : {0.05, 0.3, 0.6, 0.9, 0.99, 0.999999}) {
    const at::Tensor got = apply_top_p(logits, top_p);
    for (int64_t r = 0; r < 2; ++r) {
      const double* p = probs[r].data_ptr<double>();
      int64_t top = 0;
      for (int64_t j = 1; j < n_vocab; ++j) if (p[j] > p[top]) top = j;
      std::vector<int64_t> want;
      for (int64_t i = 0; i < n_vocab; ++i) {
        double before = 0;
        for (int64_t j = 0; j < n_vocab; ++j)
          if (p[j] > p[i] || (p[j] == p[i] && j < i)) before += p[j];
        if (i == top || before < top_p - 1e-6) want.push_back(i);
      }
      EXPECT_EQ(support(got, r), want) << "top_p=" << top_p << " row " << r;
      if (top_p == 0.999999) {
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
    EXPECT_EQ(support(apply_min_p(logits_of(kFive), row.min_p)), row.kept)
        << "min_p=" << row.min_p;
  }
}

TEST(SamplerFilterTest, FiltersKeepTheLogitsOfKeptTokensUnchanged) {
  at::Tensor logits = logits_of(kFive);
  for (const at::Tensor& out :
       {apply_top_k(logits, 3), apply_top_p(logits, 0.8), apply_min_p(logits, 0.25)}) {
    for (int64_t i : support(out)) EXPECT_EQ(out[0][i].item<float>(), logits[0][i].item<float>());
  }
}

TEST(SamplerFilterTest, FiltersWorkPerRowAndOnOneRow) {
  at::Tensor batch = at::cat({logits_of(kFive), logits_of({0.05, 0.1, 0.15, 0.2, 0.5})});
  at::Tensor out = apply_top_k(batch, 2);
  EXPECT_EQ(support(out, 0), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(support(out, 1), (std::vector<int64_t>{3, 4}));
  at::Tensor one = apply_top_p(logits_of(kFive).squeeze(0), 0.7);  // [n_vocab]
  EXPECT_EQ(one.dim(), 1);
  EXPECT_EQ(support(one), (std::vector<int64_t>{0, 1}));
}

TEST(SamplerFilterTest, TemperatureDividesLogitsExactly) {
  at::Tensor logits = row_of({1.f, 2.f, -3.f, 0.f});
  EXPECT_EQ(values(apply_temperature(logits, 0.5)), (std::vector<float>{2.f, 4.f, -6.f, 0.f}));
  EXPECT_EQ(values(apply_temperature(logits, 2.0)), (std::vector<float>{0.5f, 1.f, -1.5f, 0.f}));
  EXPECT_EQ(values(logits), (std::vector<float>{1.f, 2.f, -3.f, 0.f}));  // input untouched
}

TEST(SamplerFilterTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeContextLogits) {
  at::Tensor logits = at::cat({row_of({2.f, -2.f, 3.f, -1.f}), row_of({2.f, -2.f, 3.f, -1.f})});
  // Row 0 has tokens 0 and 1 (1 twice: penalized once); row 1 has token 3 only.
  at::Tensor out = apply_repetition_penalty(logits, {{0, 1, 1}, {3}}, 2.0);
  EXPECT_EQ(values(out[0]), (std::vector<float>{1.f, -4.f, 3.f, -1.f}));
  EXPECT_EQ(values(out[1]), (std::vector<float>{2.f, -2.f, 3.f, -2.f}));
  EXPECT_EQ(values(logits[0]), (std::vector<float>{2.f, -2.f, 3.f, -1.f}));  // input untouched
  // No context: nothing changes.
  EXPECT_EQ(values(apply_repetition_penalty(logits, {}, 2.0)), values(logits));
}

TEST(SamplerFilterTest, HelpersRejectBadInput) {
  at::Tensor good = logits_of(kFive);
  at::Tensor nan = row_of({0.f, std::nanf(""), 1.f});
  EXPECT_THROW(apply_top_k(at::zeros({2, 3, 4}), 1), Error);          // rank 3
  EXPECT_THROW(apply_top_p(at::zeros({}), 0.5), Error);               // rank 0
  EXPECT_THROW(apply_min_p(nan, 0.1), Error);
  EXPECT_THROW(apply_temperature(nan, 1.0), Error);
  EXPECT_THROW(apply_top_k(at::zeros({1, 3}, at::kLong), 1), Error);  // not floating
  EXPECT_THROW(apply_temperature(good, 0.0), Error);
  EXPECT_THROW(apply_top_k(good, -1), Error);
  EXPECT_THROW(apply_top_p(good, 0.0), Error);
  EXPECT_THROW(apply_top_p(good, 1.5), Error);
  EXPECT_THROW(apply_min_p(good, -0.1), Error);
  EXPECT_THROW(apply_repetition_penalty(good, {{5}}, 2.0), Error);      // id out of range
  EXPECT_THROW(apply_repetition_penalty(good, {{0}, {1}}, 2.0), Error);  // 2 lists, 1 row
  EXPECT_THROW(apply_repetition_penalty(good, {{0}}, 0.0), Error);
}

// --- Sampler ------------------------------------------------------------------------------

SamplerParams params_with(double temperature, int top_k = 0, double top_p = 1.0,
                          double min_p = 0.0, double repetition_penalty = 1.0) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repetition_penalty = repetition_penalty;
  return p;
}

TEST(SampleTokensTest, GreedyPicksTheArgmaxOfEachRow) {
  at::Tensor logits = at::cat({row_of({0.f, 3.f, 1.f}), row_of({5.f, -1.f, 2.f}),
                               row_of({1.f, 4.f, 4.f})});  // last row: tie -> first index
  at::Generator gen = make_sampler_generator(0);
  EXPECT_EQ(ids_of(sample_tokens(logits, params_with(0.0), {}, gen)),
            (std::vector<int64_t>{1, 0, 1}));
}

TEST(SampleTokensTest, GreedyHonoursTheRepetitionPenalty) {
  at::Generator gen = make_sampler_generator(0);
  // [2, 1.5] with token 0 penalized by 2 -> [1, 1.5].
  SamplerParams params = params_with(0.0, 0, 1.0, 0.0, /*repetition_penalty=*/2.0);
  EXPECT_EQ(sample_tokens(row_of({2.f, 1.5f}), params, {{0}}, gen)[0].id, 1);
}

TEST(SampleTokensTest, SameSeedGivesSameTokensAndSeedsDiffer) {
  at::Tensor logits = at::zeros({200, 10});  // 200 uniform draws over 10 tokens
  SamplerParams params = params_with(1.0);
  at::Generator a = make_sampler_generator(7), b = make_sampler_generator(7);
  at::Generator c = make_sampler_generator(8);
  std::vector<int64_t> from_a = ids_of(sample_tokens(logits, params, {}, a));
  EXPECT_EQ(from_a, ids_of(sample_tokens(logits, params, {}, b)));
  EXPECT_NE(from_a, ids_of(sample_tokens(logits, params, {}, c)));
  EXPECT_NE(from_a, ids_of(sample_tokens(logits, params, {}, a)));  // the generator advanced
}

TEST(SampleTokensTest, NeverDrawsAFilteredOutToken) {
  const int64_t n_draws = 2000;
  at::Tensor logits = logits_of(kFive).expand({n_draws, 5}).contiguous();
  struct Row { SamplerParams params; std::set<int64_t> allowed; };
  for (const Row& row : std::vector<Row>{{params_with(1.5, 2), {0, 1}},
                                          {params_with(1.0, 0, 0.71), {0, 1, 2}},
                                          {params_with(1.0, 0, 1.0, 0.25), {0, 1, 2}},
                                          {params_with(0.5, 0, 1.0, 0.25), {0}},  // p^2
                                          {params_with(1.0, 4, 0.7), {0, 1}}}) {
    at::Generator gen = make_sampler_generator(123);
    std::set<int64_t> drawn;
    for (const SampledToken& t : sample_tokens(logits, row.params, {}, gen)) drawn.insert(t.id);
    EXPECT_EQ(drawn, row.allowed);  // every allowed token shows up, nothing else does
  }
}

TEST(SampleTokensTest, FrequenciesMatchTheDistribution) {
  const std::vector<double> probs = {0.6, 0.3, 0.1};
  const int64_t n_draws = 2000;
  at::Tensor logits = logits_of(probs).expand({n_draws, 3}).contiguous();
  at::Generator gen = make_sampler_generator(2024);
  std::vector<int64_t> counts(3, 0);
  for (const SampledToken& t : sample_tokens(logits, params_with(1.0), {}, gen)) ++counts.at(t.id);
  for (std::size_t i = 0; i < probs.size(); ++i) {
    double freq = static_cast<double>(counts[i]) / n_draws;
    double std_err = std::sqrt(probs[i] * (1 - probs[i]) / n_draws);
    EXPECT_LT(std::abs(freq - probs[i]), 4 * std_err) << "token " << i << " freq " << freq;
  }
}

TEST(SampleTokensTest, ReportsLogprobAndEntropyUnderTheModel) {
  // p = [0.5, 0.25, 0.25] shifted by 3: entropy = 1.5 ln 2 nats.
  at::Tensor logits = logits_of({0.5, 0.25, 0.25}) + 3.0f;
  at::Generator gen = make_sampler_generator(0);
  // Greedy and a heavily filtered sampler report the same model statistics.
  for (const SamplerParams& params : {params_with(0.0), params_with(0.1, 1, 0.2, 0.9, 3.0)}) {
    SampledToken t = sample_tokens(logits, params, {{1}}, gen)[0];
    EXPECT_EQ(t.id, 0);
    EXPECT_NEAR(t.logprob, std::log(0.5), 1e-6);
    EXPECT_NEAR(t.entropy, 1.5 * std::log(2.0), 1e-6);
  }
  // A masked (-inf) token adds nothing to the entropy; a certain token has logprob 0.
  SampledToken certain = sample_tokens(row_of({1.f, -kInf}), params_with(1.0), {}, gen)[0];
  EXPECT_EQ(certain.id, 0);
  EXPECT_NEAR(certain.logprob, 0.0, 1e-7);
  EXPECT_NEAR(certain.entropy, 0.0, 1e-7);
  // The logprob of a sampled token is its own: draw token 1 with p = 0.25 via top_k = 1 after
  // a penalty that makes it the largest.
  SampledToken second =
      sample_tokens(logits_of({0.5, 0.25, 0.25}), params_with(1.0, 1, 1.0, 0.0, 100.0),
                    {{0}}, gen)[0];  // log 0.5 < 0 -> *100; token 1 wins the tie with 2
  EXPECT_EQ(second.id, 1);
  EXPECT_NEAR(second.logprob, std::log(0.25), 1e-6);
}

TEST(SampleTokensTest, RejectsBadLogitsAndParams) {
  at::Generator gen = make_sampler_generator(0);
  SamplerParams ok;
  EXPECT_THROW(sample_tokens(at::zeros({2, 3, 4}), ok, {}, gen), Error);
  EXPECT_THROW(sample_tokens(row_of({0.f, std::nanf("")}), ok, {}, gen), Error);
  EXPECT_THROW(sample_tokens(row_of({-kInf, -kInf}), ok, {}, gen), Error);
  EXPECT_THROW(sample_tokens(row_of({0.f, 1.f}), ok, {{0}, {1}}, gen), Error);
  SamplerParams bad = ok;
  bad.top_p = 0.0;
  EXPECT_THROW(sample_tokens(row_of({0.f, 1.f}), bad, {}, gen), Error);
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
  // The reported statistics are the model's, before the penalty: log softmax of the raw row.
  const SampledToken t = greedy_token(row.data(), 4, {1, 2}, 10.0);
  double z = 0;
  for (float x : row) z += std::exp(double(x));
  double entropy = 0;
  for (float x : row) entropy -= std::exp(x) / z * (x - std::log(z));
  EXPECT_NEAR(t.logprob, 1.0 - std::log(z), 1e-6);
  EXPECT_NEAR(t.entropy, entropy, 1e-6);
}

TEST(GreedyTokenTest, AgreesWithSampleTokensAtTemperatureZero) {
  at::manual_seed(5);
  const at::Tensor logits = at::randn({4, 300}) * 3;
  const std::vector<std::vector<int64_t>> contexts = {{1, 2}, {}, {299, 0, 0}, {7}};
  at::Generator gen = make_sampler_generator(0);
  const std::vector<SampledToken> want = sample_tokens(logits, params_with(0.0, 0, 1.0, 0.0, 1.7), contexts, gen);
  for (int64_t r = 0; r < 4; ++r) {
    const SampledToken got = greedy_token(logits[r].contiguous().data_ptr<float>(), 300, contexts[size_t(r)], 1.7);
    EXPECT_EQ(got.id, want[size_t(r)].id);
    EXPECT_EQ(got.logprob, want[size_t(r)].logprob);
    EXPECT_EQ(got.entropy, want[size_t(r)].entropy);
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
