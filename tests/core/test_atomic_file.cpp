// AtomicFile: the target is replaced whole or not at all.
#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using sculpt::testing::TempDir;

TEST(AtomicFileTest, WritesAndReplaces) {
  TempDir temp;
  const std::string path = temp.file("f.txt");
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
}

TEST(AtomicFileTest, UncommittedWriteLeavesOldFileAndNoTemp) {
  TempDir temp;
  const std::string& dir = temp.path();
  const std::string path = dir + "/f.txt";
  write_file_atomic(path, "old");
  {
    AtomicFile out(path);
    out.write(std::string("half-written new contents"));
    // destroyed without commit(): as if the writer threw midway
  }
  EXPECT_EQ(read_file(path), "old");
  EXPECT_NE(::access((path + ".tmp." + std::to_string(::getpid())).c_str(), F_OK), 0);
}

TEST(AtomicFileTest, TempFilesOfKilledWritersAreRemovedAndLiveOnesKept) {
  TempDir temp;
  const std::string path = temp.file("index.bm25");
  const pid_t dead = ::fork();  // a pid that has exited (and been reaped): a killed writer's
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = path + ".tmp." + std::to_string(dead);
  const std::string live = path + ".tmp." + std::to_string(::getppid());  // a running process
  const std::string other = temp.file("other.bm25.tmp." + std::to_string(dead));  // another file's
  for (const std::string& f : {stale, live, other}) testing::write_file(f, "partial");
  write_file_atomic(path, "complete");
  EXPECT_EQ(read_file(path), "complete");
  EXPECT_NE(::access(stale.c_str(), F_OK), 0);
  EXPECT_EQ(::access(live.c_str(), F_OK), 0);
  EXPECT_EQ(::access(other.c_str(), F_OK), 0);
}

TEST(AtomicFileTest, MissingDirectoryIsAClearError) {
  try {
    write_file_atomic("/nonexistent_dir_sculpt/f.txt", "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("/nonexistent_dir_sculpt/f.txt"));
  }
}

TEST(AtomicFileTest, ReadFileRefusesMissingDirectoryAndOversized) {
  TempDir temp;
  const std::string& dir = temp.path();
  EXPECT_THROW(read_file(dir + "/missing"), Error);
  EXPECT_THROW(read_file(dir), Error);
  write_file_atomic(dir + "/big", std::string(100, 'x'));
  EXPECT_THROW(read_file(dir + "/big", /*max_bytes=*/10), Error);
}

}  // namespace
}  // namespace sculpt
