// The checked index container: round trip, and every truncation or flipped byte is a clear Error.
#include "retrieval/index_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;
using sculpt::testing::write_file;

std::string error_of(const std::string& path) {
  return sculpt::testing::error_message([&] { read_index_file(path); });
}

TEST(IndexFileTest, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32(""), 0u);
}

TEST(IndexFileTest, RoundTripKeepsBackendAndPayload) {
  TempDir dir;
  ByteWriter w;
  w.u32(7);
  w.str("héllo");
  w.f64(2.5);
  write_index_file(dir.file("x.idx"), "bm25", w.bytes());
  IndexFile f = read_index_file(dir.file("x.idx"));
  EXPECT_EQ(f.backend, "bm25");
  ByteReader r(f.payload, f.path);
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.str(), "héllo");
  EXPECT_EQ(r.f64(), 2.5);
  EXPECT_NO_THROW(r.expect_end());
  EXPECT_EQ(dir.n_entries(), 1u);  // no temporary file left behind
}

TEST(IndexFileTest, EveryTruncationIsAnErrorNamingTheFile) {
  TempDir dir;
  ByteWriter w;
  w.str("some payload bytes");
  write_index_file(dir.file("x.idx"), "bm25", w.bytes());
  const std::string bytes = read_file(dir.file("x.idx"));
  for (size_t n = 0; n < bytes.size(); ++n) {
    write_file(dir.file("cut.idx"), bytes.substr(0, n));
    const std::string e = error_of(dir.file("cut.idx"));
    EXPECT_THAT(e, HasSubstr(dir.file("cut.idx"))) << "truncated to " << n;
  }
}

TEST(IndexFileTest, EveryFlippedByteIsAnErrorNamingTheFile) {
  TempDir dir;
  ByteWriter w;
  w.str("some payload bytes");
  write_index_file(dir.file("x.idx"), "bm25", w.bytes());
  const std::string bytes = read_file(dir.file("x.idx"));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = char(bad[i] ^ 0x20);
    write_file(dir.file("bad.idx"), bad);
    EXPECT_THAT(error_of(dir.file("bad.idx")), HasSubstr(dir.file("bad.idx"))) << "byte " << i;
  }
}

TEST(IndexFileTest, MessagesSayWhatIsWrong) {
  TempDir dir;
  write_file(dir.file("text.idx"), "hello, not an index at all");
  EXPECT_THAT(error_of(dir.file("text.idx")), HasSubstr("not a Sculpt index file"));
  write_index_file(dir.file("x.idx"), "bm25", std::string(100, 'a'));
  std::string bytes = read_file(dir.file("x.idx"));
  write_file(dir.file("short.idx"), bytes.substr(0, bytes.size() - 10));
  EXPECT_THAT(error_of(dir.file("short.idx")), HasSubstr("truncated"));
  bytes[40] = 'b';
  write_file(dir.file("flip.idx"), bytes);
  EXPECT_THAT(error_of(dir.file("flip.idx")), HasSubstr("checksum"));
  bytes = read_file(dir.file("x.idx"));
  bytes[8] = 9;  // version 9
  write_file(dir.file("v9.idx"), bytes);
  EXPECT_THAT(error_of(dir.file("v9.idx")), HasSubstr("version 9"));
  EXPECT_THAT(error_of(dir.file("missing.idx")), HasSubstr("missing.idx"));
}

TEST(IndexFileTest, ReaderRefusesCountsThatDoNotFitBeforeAllocating) {
  ByteWriter w;
  w.u64(uint64_t(1) << 60);  // a lying count
  ByteReader r(w.bytes(), "f.idx");
  try {
    r.count(8, "posting");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("f.idx: corrupt index: posting count"));
  }
  ByteWriter s;
  s.u64(1000);  // a string longer than what is left
  ByteReader rs(s.bytes(), "f.idx");
  EXPECT_THROW(rs.str(), Error);
}

}  // namespace
}  // namespace sculpt
