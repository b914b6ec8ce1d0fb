// Retrieval metrics: recall@k, reciprocal rank, percentiles and the query file reader.
#include "retrieval/evaluation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

Hit hit(const std::string& doc) {
  Hit h;
  h.doc_id = doc;
  return h;
}

TEST(EvaluationTest, DocumentsRankAtTheirBestPassage) {
  EXPECT_EQ(ranked_documents({hit("a"), hit("b"), hit("a"), hit("c")}), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(EvaluationTest, RecallAndReciprocalRankByHand) {
  const std::vector<std::string> ranked = {"x", "a", "y", "b"};
  EXPECT_DOUBLE_EQ(recall_at(ranked, {"a"}, 1), 0.0);
  EXPECT_DOUBLE_EQ(recall_at(ranked, {"a"}, 2), 1.0);
  EXPECT_DOUBLE_EQ(recall_at(ranked, {"a", "b"}, 2), 0.5);
  EXPECT_DOUBLE_EQ(recall_at(ranked, {"a", "b"}, 10), 1.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank(ranked, {"b", "a"}), 0.5);
  EXPECT_DOUBLE_EQ(reciprocal_rank(ranked, {"z"}), 0.0);
}

TEST(EvaluationTest, PercentilesAreNearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({}, 50), 0);
}

TEST(EvaluationTest, QueryFilesAreReadStrictly) {
  sculpt::testing::TempDir dir;
  sculpt::testing::write_file(dir.file("q.jsonl"), "{\"query\": \"a b\", \"relevant\": [\"d1\", \"d2\"]}\n\n{\"query\": \"c\", \"relevant\": [\"d3\"]}\n");
  const auto qs = read_eval_queries(dir.file("q.jsonl"));
  ASSERT_EQ(qs.size(), 2u);
  EXPECT_EQ(qs[0].relevant, (std::vector<std::string>{"d1", "d2"}));
  sculpt::testing::write_file(dir.file("bad.jsonl"), "{\"query\": \"a\", \"relevant\": [\"d\"]}\n{\"query\": 3}\n");
  try {
    read_eval_queries(dir.file("bad.jsonl"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.jsonl:2"));
  }
  sculpt::testing::write_file(dir.file("empty.jsonl"), "\n");
  EXPECT_THROW(read_eval_queries(dir.file("empty.jsonl")), Error);
}

}  // namespace
}  // namespace sculpt
