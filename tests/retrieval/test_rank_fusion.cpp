// Reciprocal-rank fusion against its formula.
#include "retrieval/rank_fusion.h"

#include <gtest/gtest.h>

namespace sculpt {
namespace {

Hit hit(uint64_t id) {
  Hit h;
  h.passage_id = id;
  h.doc_id = "d" + std::to_string(id);
  h.score = 100.0 - double(id);  // ignored by fusion
  return h;
}

TEST(RankFusionTest, ScoresAreSumsOfReciprocalRanks) {
  // List A ranks 1, 2, 3; list B ranks 3, 4, 1.
  const std::vector<Hit> fused = fuse_reciprocal_rank({{hit(1), hit(2), hit(3)}, {hit(3), hit(4), hit(1)}}, 60, 10);
  ASSERT_EQ(fused.size(), 4u);
  const double s1 = 1.0 / 61 + 1.0 / 63, s3 = 1.0 / 63 + 1.0 / 61, s2 = 1.0 / 62, s4 = 1.0 / 62;
  // 1 and 3 tie (first seen wins), then 2 and 4 tie.
  EXPECT_EQ(fused[0].passage_id, 1u);
  EXPECT_DOUBLE_EQ(fused[0].score, s1);
  EXPECT_EQ(fused[1].passage_id, 3u);
  EXPECT_DOUBLE_EQ(fused[1].score, s3);
  EXPECT_EQ(fused[2].passage_id, 2u);
  EXPECT_DOUBLE_EQ(fused[2].score, s2);
  EXPECT_EQ(fused[3].passage_id, 4u);
  EXPECT_DOUBLE_EQ(fused[3].score, s4);
  EXPECT_EQ(fused[0].doc_id, "d1");  // the hit's other fields are kept
}

TEST(RankFusionTest, AgreementBeatsOneHighRankAndKCuts) {
  // 5 is second in both lists; 1 is first in one list only.
  const std::vector<Hit> fused = fuse_reciprocal_rank({{hit(1), hit(5)}, {hit(2), hit(5)}}, 60, 2);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].passage_id, 5u);
  EXPECT_DOUBLE_EQ(fused[0].score, 2.0 / 62);
  EXPECT_TRUE(fuse_reciprocal_rank({}, 60, 5).empty());
  EXPECT_TRUE(fuse_reciprocal_rank({{hit(1)}}, 60, 0).empty());
}

TEST(RankFusionTest, SmallKWeighsTopRanksMore) {
  const std::vector<Hit> fused = fuse_reciprocal_rank({{hit(1), hit(2)}}, 0, 2);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0);
  EXPECT_DOUBLE_EQ(fused[1].score, 0.5);
}

}  // namespace
}  // namespace sculpt
