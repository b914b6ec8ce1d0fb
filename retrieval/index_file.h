// The on-disk container of every file-backed index: a versioned header naming the backend, a
// payload, and a CRC-32 over both, written atomically (temp file, fsync, rename). Readers check
// the magic, version, lengths and checksum before a byte of the payload is interpreted, and
// every later read is bounds-checked, so a corrupt or truncated file is a clear Error naming the
// file, never a crash or a huge allocation.
//
//   ByteWriter w; w.u64(n); w.str(name);
//   write_index_file("brown.idx", "bm25", w.bytes());
//   IndexFile f = read_index_file("brown.idx");       // f.backend == "bm25"
//   ByteReader r(f.payload, f.path); uint64_t n = r.u64();
//
// Layout (little-endian): "SCULPTIX" | u32 version | u32 name length | name | u64 payload
// length | payload | u32 CRC-32 (IEEE) of everything before it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sculpt {

inline constexpr uint32_t kIndexFormatVersion = 1;

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of `data`, continuing from `crc`.
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// Appends little-endian values to a byte string.
class ByteWriter {
 public:
  void u8(uint8_t v) { bytes_.push_back(char(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void f32(float v);
  void f64(double v);
  void str(std::string_view s);  // u64 length + bytes
  void raw(const void* data, size_t n) { bytes_.append(static_cast<const char*>(data), n); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what ByteWriter wrote; every read checks the bytes left and throws Error
// "<file>: corrupt index: <what> at byte <offset> ..." instead of reading past the end.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  float f32();
  double f64();
  std::string str();
  // A count of items of `item_bytes` each that must still fit in the bytes left; call it before
  // allocating for them, so a lying count cannot drive an allocation.
  uint64_t count(size_t item_bytes, const char* what);
  void raw(void* out, size_t n);
  size_t remaining() const { return bytes_.size() - pos_; }
  // Throws unless every byte was consumed (trailing garbage means a corrupt file).
  void expect_end() const;
  [[noreturn]] void corrupt(const std::string& why) const;
  const std::string& file() const { return file_; }

 private:
  void need(size_t n, const char* what) const;

  std::string_view bytes_;
  std::string file_;
  size_t pos_ = 0;
};

struct IndexFile {
  std::string path;
  std::string backend;  // "bm25", "dense", ...
  std::string payload;
};

// Writes the container atomically; throws Error naming the path.
void write_index_file(const std::string& path, const std::string& backend, const std::string& payload);

// Reads and checks the container; throws Error naming the path and what is wrong.
IndexFile read_index_file(const std::string& path);

// Only the backend name from the header (for dispatch); same checks as read_index_file.
std::string index_file_backend(const std::string& path);

}  // namespace sculpt
