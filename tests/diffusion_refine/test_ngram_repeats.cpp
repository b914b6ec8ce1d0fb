// Repeated n-grams against their definitions, checked by brute force over every candidate token
// on random short sequences with a small vocabulary (so repeats are common).
#include "diffusion_refine/ngram_repeats.h"

#include <gtest/gtest.h>

#include <random>

namespace sculpt {
namespace {

// Whether windows [a, a+n) and [b, b+n) are fully known and equal.
bool equal_known(const std::vector<int64_t>& t, const std::vector<uint8_t>& known, int64_t a, int64_t b, int n) {
  for (int64_t k = 0; k < n; ++k)
    if (!known[size_t(a + k)] || !known[size_t(b + k)] || t[size_t(a + k)] != t[size_t(b + k)]) return false;
  return true;
}

// The definition: some fully known window through i equals another fully known window.
bool repeats_by_definition(const std::vector<int64_t>& t, const std::vector<uint8_t>& known, int64_t begin,
                           int64_t end, int n, int64_t i) {
  for (int64_t s = begin; s + n <= end; ++s) {
    if (!(s <= i && i < s + n)) continue;
    for (int64_t o = begin; o + n <= end; ++o)
      if (o != s && equal_known(t, known, s, o, n)) return true;
  }
  return false;
}

TEST(NgramRepeatsTest, RepeatedEndsMarkSecondAndLaterOccurrences) {
  EXPECT_EQ(repeated_ngram_ends({1, 2, 1, 2, 1, 2}, 2), (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(repeated_ngram_ends({7, 7, 7, 7}, 3), (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(repeated_ngram_ends({1, 2, 3}, 4), (std::vector<uint8_t>{0, 0, 0}));
  EXPECT_EQ(repeated_ngram_ends({4, 4}, 0), (std::vector<uint8_t>{0, 0}));
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + int(rng() % 4);
    std::vector<int64_t> t(size_t(rng() % 20));
    for (int64_t& x : t) x = int64_t(rng() % 3);
    const std::vector<uint8_t> ends = repeated_ngram_ends(t, n);
    const std::vector<uint8_t> all_known(t.size(), 1);
    for (int64_t i = 0; i < int64_t(t.size()); ++i) {
      bool earlier = false;
      for (int64_t j = n - 1; j < i && i >= n - 1; ++j) earlier = earlier || equal_known(t, all_known, j - n + 1, i - n + 1, n);
      EXPECT_EQ(bool(ends[size_t(i)]), earlier) << "trial " << trial << " position " << i;
    }
  }
}

TEST(NgramRepeatsTest, BannedTokensAreExactlyThoseThatWouldRepeat) {
  std::mt19937 rng(11);
  int64_t n_banned = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int n = 1 + int(rng() % 4);
    const int64_t size = 4 + int64_t(rng() % 16);
    std::vector<int64_t> t(static_cast<size_t>(size));
    std::vector<uint8_t> known(static_cast<size_t>(size));
    for (int64_t p = 0; p < size; ++p) {
      t[size_t(p)] = int64_t(rng() % 3);
      known[size_t(p)] = rng() % 4 != 0;
    }
    const int64_t begin = int64_t(rng() % 3), end = size - int64_t(rng() % 2);
    const NgramRegion region{t, known, begin, end, n};
    for (int64_t i = begin; i < end; ++i) {
      const std::vector<int64_t> banned = region.banned_at(i);
      std::vector<int64_t> t_c = t;
      std::vector<uint8_t> known_c = known;
      known_c[size_t(i)] = 1;
      std::vector<int64_t> expected;
      for (int64_t c = 0; c < 3; ++c) {
        t_c[size_t(i)] = c;
        if (repeats_by_definition(t_c, known_c, begin, end, n, i)) expected.push_back(c);
      }
      EXPECT_EQ(banned, expected) << "trial " << trial << " position " << i << " n " << n;
      n_banned += int64_t(banned.size());
      if (known[size_t(i)])
        EXPECT_EQ(region.repeats_at(i), repeats_by_definition(t, known, begin, end, n, i)) << "trial " << trial;
      else
        EXPECT_FALSE(region.repeats_at(i));
    }
  }
  EXPECT_GT(n_banned, 100);  // the random cases do exercise bans
}

TEST(NgramRepeatsTest, OverlappingWindowsCount) {
  // "5 ? 5" with n = 2: writing 5 makes (5 5) twice, overlapping at the middle.
  const std::vector<int64_t> t{5, 0, 5};
  const std::vector<uint8_t> known{1, 0, 1};
  EXPECT_EQ((NgramRegion{t, known, 0, 3, 2}.banned_at(1)), (std::vector<int64_t>{5}));
  // Outside the region nothing counts.
  EXPECT_TRUE((NgramRegion{t, known, 1, 3, 2}.banned_at(1)).empty());
}

}  // namespace
}  // namespace sculpt
