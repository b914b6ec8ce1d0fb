// The one corpus reader (core/corpus.h): folders of text files, JSONL, the validation split,
// and the empty or malformed cases.
#include "core/corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/log.h"
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
  write_file(dir.file(".git/HEAD"), "ref: refs/heads/main");  // hidden folders are not walked
  const std::vector<Document> docs = read_corpus(dir.path());
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, "a.txt");  // the relative path, extension kept: a.txt and a.md stay apart
  EXPECT_EQ(docs[1].id, "b.txt");
  EXPECT_EQ(docs[2].id, "sub/c.txt");
  EXPECT_EQ(docs[2].text, "third");
}

TEST(CorpusTest, FilesThatAreNotUtf8TextAreSkipped) {
  TempDir dir;
  write_file(dir.file("good.txt"), "caf\xc3\xa9 text");
  write_file(dir.file("latin1.txt"), "caf\xe9 text");
  write_file(dir.file("image.png"), std::string("\x89PNG\0\0\x01", 7));
  const std::vector<Document> docs = read_corpus(dir.path());
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "good.txt");
  write_file(dir.file("only/bin.dat"), std::string("\0\0\0", 3));
  EXPECT_THAT(error_of(dir.file("only")), HasSubstr("empty corpus"));
}

TEST(CorpusTest, SkippedFilesAreReportedThroughTheLogSink) {
  TempDir dir;
  write_file(dir.file("good.txt"), "text");
  write_file(dir.file("image.png"), std::string("\x89PNG\0\0\x01", 7));
  std::vector<std::pair<LogLevel, std::string>> lines;
  set_log_sink([&](LogLevel level, const std::string& line) { lines.emplace_back(level, line); });
  const std::vector<Document> docs = read_corpus(dir.path());
  set_log_sink({});  // stderr again
  EXPECT_EQ(docs.size(), 1u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].first, LogLevel::kWarning);
  EXPECT_THAT(lines[0].second, HasSubstr("skipping " + dir.file("image.png") + ": not UTF-8 text (NUL byte"));
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

TEST(CorpusTest, JsonlIdsAreOptionalAndTheSplitFollowsTheIds) {
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "{\"text\": \"document " + std::to_string(i) + "\"}\n";
  write_file(dir.file("c.jsonl"), lines);
  const std::vector<Document> all = read_corpus_split(dir.file("c.jsonl"), 0.3, CorpusSplit::kAll);
  ASSERT_EQ(all.size(), 40u);
  EXPECT_EQ(all[0].id, "line:1");
  const std::vector<Document> valid = read_corpus_split(dir.file("c.jsonl"), 0.3, CorpusSplit::kValidation);
  const std::vector<Document> train = read_corpus_split(dir.file("c.jsonl"), 0.3, CorpusSplit::kTrain);
  EXPECT_EQ(valid.size() + train.size(), 40u);
  EXPECT_GT(valid.size(), 0u);
  for (const Document& d : valid) EXPECT_TRUE(in_validation_split(d.id, 0.3)) << d.id;
  for (const Document& d : train) EXPECT_FALSE(in_validation_split(d.id, 0.3)) << d.id;
}

TEST(CorpusTest, AListingSkipsTheExcludedFolderAndRecordsEachFile) {
  TempDir dir;
  write_file(dir.file("a.txt"), "first");
  write_file(dir.file("cache/train.tokens"), "not a document");
  const CorpusListing listing = list_corpus(dir.path(), dir.file("cache"));
  ASSERT_EQ(listing.entries.size(), 1u);
  EXPECT_EQ(listing.entries[0].id, "a.txt");
  EXPECT_EQ(listing.entries[0].file, dir.file("a.txt"));
  ASSERT_EQ(listing.files.size(), 1u);
  EXPECT_EQ(listing.files[0].size, 5);
  EXPECT_GT(listing.files[0].mtime_ns, 0);
}

}  // namespace
}  // namespace sculpt
