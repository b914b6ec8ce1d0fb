// Step schedules and commit rules against their definitions.
#include "diffusion_refine/denoise_schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace sculpt {
namespace {

using ::testing::ElementsAre;

TEST(NumTransferTokensTest, LinearSpreadsRemainderOverEarlySteps) {
  EXPECT_THAT(num_transfer_tokens(10, 4, RemaskSchedule::kLinear), ElementsAre(3, 3, 2, 2));
  EXPECT_THAT(num_transfer_tokens(8, 4, RemaskSchedule::kLinear), ElementsAre(2, 2, 2, 2));
  EXPECT_THAT(num_transfer_tokens(3, 8, RemaskSchedule::kLinear), ElementsAre(1, 1, 1));  // never an empty step
  EXPECT_TRUE(num_transfer_tokens(0, 4, RemaskSchedule::kLinear).empty());
}

TEST(NumTransferTokensTest, CosineKeepsFloorOfNTimesCosMasked) {
  // remaining after step s: floor(10 cos(pi/8 s)) = 9, 7, 3, 0.
  EXPECT_THAT(num_transfer_tokens(10, 4, RemaskSchedule::kCosine), ElementsAre(1, 2, 4, 3));
  for (int64_t n : {1, 5, 17, 64, 257})
    for (int64_t steps : {1, 3, 8, 32}) {
      const auto k = num_transfer_tokens(n, steps, RemaskSchedule::kCosine);
      EXPECT_EQ(int64_t(k.size()), std::min(n, steps));
      EXPECT_EQ(std::accumulate(k.begin(), k.end(), int64_t(0)), n) << n << " over " << steps;
      for (int64_t x : k) EXPECT_GE(x, 1);
    }
}

TEST(SelectByConfidenceTest, TakesTheMostConfidentTiesToLowerIndex) {
  EXPECT_THAT(select_by_confidence({0.2f, 0.9f, 0.5f, 0.9f}, 3), ElementsAre(1, 3, 2));
  EXPECT_THAT(select_by_confidence({0.2f, 0.9f}, 5), ElementsAre(1, 0));
  EXPECT_TRUE(select_by_confidence({0.2f}, 0).empty());
}

TEST(SelectByThresholdTest, CommitsAllAboveTauAndAtLeastOne) {
  EXPECT_THAT(select_by_threshold({0.95f, 0.3f, 0.91f, 0.9f}, 0.9), ElementsAre(0, 2, 3));
  EXPECT_THAT(select_by_threshold({0.5f, 0.7f, 0.6f}, 0.9), ElementsAre(1));
  EXPECT_TRUE(select_by_threshold({}, 0.9).empty());
}

}  // namespace
}  // namespace sculpt
