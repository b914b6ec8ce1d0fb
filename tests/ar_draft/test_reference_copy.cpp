// Copying from references: candidates against a brute-force reading of their definition, the
// mixture against its formula.
#include "ar_draft/reference_copy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/error.h"

namespace sculpt {
namespace {

using Next = std::vector<std::pair<int64_t, double>>;

TEST(ReferenceCopyTest, LongestMatchWinsAndItsFollowersAreCounted) {
  const std::vector<int64_t> ref{9, 1, 2, 3, 7, 5, 2, 3, 8, 1, 2, 3, 7};
  CopyCandidates c = find_copy_candidates({4, 1, 2, 3}, ref, 2);
  EXPECT_EQ(c.match_length, 3);
  EXPECT_EQ(c.next, (Next{{7, 1.0}}));  // "1 2 3" is followed by 7 twice (at the end: nothing follows)
  c = find_copy_candidates({4, 6, 2, 3}, ref, 2);
  EXPECT_EQ(c.match_length, 2);
  EXPECT_EQ(c.next, (Next{{7, 2.0 / 3}, {8, 1.0 / 3}}));
  EXPECT_TRUE(find_copy_candidates({4, 6, 2, 3}, ref, 3).next.empty());  // too short a match
  EXPECT_TRUE(find_copy_candidates({}, ref, 1).next.empty());
  EXPECT_TRUE(find_copy_candidates({1, 2}, {}, 1).next.empty());
}

TEST(ReferenceCopyTest, CandidatesMatchTheDefinitionOnRandomSequences) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int64_t> ctx(1 + rng() % 12), ref(rng() % 30);
    for (int64_t& t : ctx) t = int64_t(rng() % 3);
    for (int64_t& t : ref) t = int64_t(rng() % 3);
    const int min_match = 1 + int(rng() % 3);
    // Definition: L(j) = longest common suffix of ctx and ref[0, j); best = max L(j) over j
    // with a next token; q = counts of ref[j] over the j reaching best.
    auto match = [&](size_t j) {
      size_t len = 0;
      while (len < j && len < ctx.size() && ref[j - 1 - len] == ctx[ctx.size() - 1 - len]) ++len;
      return int64_t(len);
    };
    int64_t best = 0;
    for (size_t j = 0; j < ref.size(); ++j) best = std::max(best, match(j));
    std::map<int64_t, double> q;
    double total = 0;
    if (best >= min_match)
      for (size_t j = 0; j < ref.size(); ++j)
        if (match(j) == best) q[ref[j]] += 1, total += 1;
    Next expected;
    for (const auto& [t, count] : q) expected.push_back({t, count / total});
    const CopyCandidates c = find_copy_candidates(ctx, ref, min_match);
    EXPECT_EQ(c.next, expected) << "trial " << trial;
    EXPECT_EQ(c.match_length, best >= min_match ? best : 0) << "trial " << trial;
  }
}

TEST(ReferenceCopyTest, MixtureFollowsItsFormula) {
  const at::Tensor logits = at::tensor({1.0f, -2.0f, 0.5f, 3.0f, 0.0f});
  const at::Tensor p = at::softmax(logits, 0);
  CopyCandidates c;
  c.next = {{1, 0.25}, {4, 0.75}};
  for (double w : {0.0, 0.3, 1.0}) {
    const at::Tensor mixed = mix_copy_distribution(logits, c, w).exp();
    for (int64_t v = 0; v < 5; ++v) {
      const double q = v == 1 ? 0.25 : v == 4 ? 0.75 : 0.0;
      EXPECT_NEAR(mixed[v].item<double>(), (1 - w) * p[v].item<double>() + w * q, 1e-6) << "w " << w << " v " << v;
    }
    EXPECT_NEAR(mixed.sum().item<double>(), 1.0, 1e-6);
  }
  // No candidates: the model's own log-probabilities.
  EXPECT_TRUE(at::allclose(mix_copy_distribution(logits, CopyCandidates{}, 0.5), at::log_softmax(logits, 0)));
  c.next = {{7, 1.0}};
  EXPECT_THROW(mix_copy_distribution(logits, c, 0.5), Error);
  EXPECT_THROW(mix_copy_distribution(logits, CopyCandidates{}, 1.5), Error);
}

}  // namespace
}  // namespace sculpt
