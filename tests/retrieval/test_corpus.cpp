// Corpus readers: folders of text files, JSONL, and the empty or malformed cases.
#include "retrieval/corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;
using sculpt::testing::write_file;

std::string error_of(const std::string& path) {
  return sculpt::testing::error_message([&] { read_corpus(path); });
}

TEST(CorpusTest, AFolderGivesOneDocumentPerFileSortedWithRelativeIds) {
  TempDir dir;
  write_file(dir.file("b.txt"), "second");
  write_file(dir.file("a.txt"), "first");
  write_file(dir.file("sub/c.txt"), "third");
  write_file(dir.file(".complete"), "");
  const std::vector<Document> docs = read_corpus(dir.path());
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, "a");
  EXPECT_EQ(docs[1].id, "b");
  EXPECT_EQ(docs[2].id, "sub/c");
  EXPECT_EQ(docs[2].text, "third");
}

TEST(CorpusTest, FilesThatAreNotUtf8TextAreSkipped) {
  TempDir dir;
  write_file(dir.file("good.txt"), "caf\xc3\xa9 text");
  write_file(dir.file("latin1.txt"), "caf\xe9 text");
  write_file(dir.file("image.png"), std::string("\x89PNG\0\0\x01", 7));
  const std::vector<Document> docs = read_corpus(dir.path());
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "good");
  write_file(dir.file("only/bin.dat"), std::string("\0\0\0", 3));
  EXPECT_THAT(error_of(dir.file("only")), HasSubstr("empty corpus"));
}

TEST(CorpusTest, AJsonlFileGivesOneDocumentPerLine) {
  TempDir dir;
  write_file(dir.file("c.jsonl"), "{\"id\": \"x\", \"text\": \"hello\"}\n\n{\"id\": 7, \"text\": \"world\"}\n");
  const std::vector<Document> docs = read_corpus(dir.file("c.jsonl"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].id, "7");
  write_file(dir.file("bad.jsonl"), "{\"id\": \"x\", \"text\": \"hello\"}\n{\"id\": \"y\"}\n");
  EXPECT_THAT(error_of(dir.file("bad.jsonl")), HasSubstr("bad.jsonl:2"));
}

TEST(CorpusTest, EmptyOrMissingCorporaAreClearErrors) {
  TempDir dir;
  EXPECT_THAT(error_of(dir.path()), HasSubstr("empty corpus"));
  write_file(dir.file("blank.txt"), " \n\n");
  EXPECT_THAT(error_of(dir.path()), HasSubstr("empty corpus"));
  EXPECT_THAT(error_of(dir.file("nope")), HasSubstr("does not exist"));
}

}  // namespace
}  // namespace sculpt
