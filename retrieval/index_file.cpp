// The checked index container (see index_file.h).
#include "retrieval/index_file.h"

#include <array>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"

namespace sculpt {
namespace {

constexpr char kMagic[8] = {'S', 'C', 'U', 'L', 'P', 'T', 'I', 'X'};
constexpr uint32_t kMaxBackendName = 64;
// magic + version + name length + payload length + crc, without the name and payload.
constexpr size_t kFixedBytes = 8 + 4 + 4 + 8 + 4;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

template <class T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // x86-64 and aarch64 are little-endian, as is the format
  return v;
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  crc = ~crc;
  for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void ByteWriter::u32(uint32_t v) { raw(&v, sizeof v); }
void ByteWriter::u64(uint64_t v) { raw(&v, sizeof v); }
void ByteWriter::f32(float v) { raw(&v, sizeof v); }
void ByteWriter::f64(double v) { raw(&v, sizeof v); }
void ByteWriter::str(std::string_view s) {
  u64(s.size());
  raw(s.data(), s.size());
}

void ByteReader::corrupt(const std::string& why) const {
  fail(file_, "corrupt index: ", why, " (at payload byte ", pos_, " of ", bytes_.size(), ")");
}

void ByteReader::need(size_t n, const char* what) const {
  if (n > remaining()) corrupt(str_cat(what, " needs ", n, " bytes but ", remaining(), " are left"));
}

void ByteReader::raw(void* out, size_t n) {
  need(n, "a field");
  std::memcpy(out, bytes_.data() + pos_, n);
  pos_ += n;
}

uint8_t ByteReader::u8() {
  need(1, "a byte");
  return uint8_t(bytes_[pos_++]);
}
uint32_t ByteReader::u32() {
  need(4, "a u32");
  pos_ += 4;
  return load_le<uint32_t>(bytes_.data() + pos_ - 4);
}
uint64_t ByteReader::u64() {
  need(8, "a u64");
  pos_ += 8;
  return load_le<uint64_t>(bytes_.data() + pos_ - 8);
}
float ByteReader::f32() {
  need(4, "a float");
  pos_ += 4;
  return load_le<float>(bytes_.data() + pos_ - 4);
}
double ByteReader::f64() {
  need(8, "a double");
  pos_ += 8;
  return load_le<double>(bytes_.data() + pos_ - 8);
}
std::string ByteReader::str() {
  const uint64_t n = u64();
  need(n, "a string");
  std::string s(bytes_.data() + pos_, n);
  pos_ += n;
  return s;
}
uint64_t ByteReader::count(size_t item_bytes, const char* what) {
  const uint64_t n = u64();
  if (item_bytes > 0 && n > remaining() / item_bytes)
    corrupt(str_cat(what, " count ", n, " does not fit in the ", remaining(), " bytes left"));
  return n;
}
void ByteReader::expect_end() const {
  if (remaining() != 0) corrupt(str_cat(remaining(), " unexpected trailing bytes"));
}

void write_index_file(const std::string& path, const std::string& backend, const std::string& payload) {
  if (backend.empty() || backend.size() > kMaxBackendName) fail(path, "bad backend name '", backend, "'");
  ByteWriter w;
  w.raw(kMagic, sizeof kMagic);
  w.u32(kIndexFormatVersion);
  w.u32(uint32_t(backend.size()));
  w.raw(backend.data(), backend.size());
  w.u64(payload.size());
  AtomicFile out(path);
  out.write(w.bytes());
  out.write(payload);
  uint32_t crc = crc32(payload, crc32(w.bytes()));
  out.write(&crc, sizeof crc);
  out.commit();
}

IndexFile read_index_file(const std::string& path) {
  IndexFile f;
  f.path = path;
  std::string data = read_file(path, size_t(1) << 34);
  if (data.size() < kFixedBytes || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    if (data.size() >= sizeof kMagic && std::memcmp(data.data(), kMagic, sizeof kMagic) == 0)
      fail(path, "truncated index: ", data.size(), " bytes is shorter than the header");
    fail(path, "not a Sculpt index file (bad magic)");
  }
  const uint32_t version = load_le<uint32_t>(data.data() + 8);
  if (version != kIndexFormatVersion)
    fail(path, "index format version ", version, " is not supported (this build reads version ",
         kIndexFormatVersion, ")");
  const uint32_t name_len = load_le<uint32_t>(data.data() + 12);
  if (name_len == 0 || name_len > kMaxBackendName) fail(path, "corrupt index: backend name length ", name_len);
  if (data.size() < kFixedBytes + name_len)
    fail(path, "truncated index: ", data.size(), " bytes is shorter than the header");
  f.backend.assign(data.data() + 16, name_len);
  const uint64_t payload_len = load_le<uint64_t>(data.data() + 16 + name_len);
  const size_t header_len = 16 + name_len + 8;
  if (payload_len != data.size() - kFixedBytes - name_len) {
    if (payload_len > data.size() - kFixedBytes - name_len)
      fail(path, "truncated index: the header promises ", payload_len + kFixedBytes + name_len,
           " bytes but the file has ", data.size());
    fail(path, "corrupt index: the header promises ", payload_len + kFixedBytes + name_len,
         " bytes but the file has ", data.size());
  }
  const uint32_t stored = load_le<uint32_t>(data.data() + data.size() - 4);
  const uint32_t actual = crc32(std::string_view(data.data(), data.size() - 4));
  if (stored != actual) fail(path, "corrupt index: checksum mismatch (the file was damaged or altered)");
  data.resize(data.size() - 4);
  f.payload = data.substr(header_len);
  return f;
}

std::string index_file_backend(const std::string& path) { return read_index_file(path).backend; }

}  // namespace sculpt
