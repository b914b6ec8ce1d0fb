// safetensors: strict header validation, the mmap reader, the atomic writer, f16/bf16 rounding.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/memory_guard.h"

// Tensor bytes are stored little-endian and are written and handed out as they are in memory.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");

namespace sculpt {
namespace {

using Json = nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bits_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Shifts right by `shift` (1..31), rounding to nearest, ties to even.
uint32_t shift_round_even(uint32_t value, int shift) {
  uint32_t kept = value >> shift;
  uint32_t rest = value & ((uint32_t(1) << shift) - 1);
  uint32_t half = uint32_t(1) << (shift - 1);
  if (rest > half || (rest == half && (kept & 1))) ++kept;
  return kept;
}

// Returns the byte offset of the first invalid UTF-8 sequence, or npos if all is valid. Strict:
// refuses overlong forms, surrogates and code points above U+10FFFF (RFC 3629).
size_t find_invalid_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (n - i < len) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string::npos;
}

bool is_valid_utf8(const std::string& s) {
  return find_invalid_utf8(reinterpret_cast<const uint8_t*>(s.data()), s.size()) ==
         std::string::npos;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string range_text(uint64_t begin, uint64_t end) {
  return str_cat("[", begin, ", ", end, "]");
}

// Bytes a tensor of this shape needs, or false on overflow (numel must also fit int64_t).
bool checked_n_bytes(const std::vector<int64_t>& shape, DType dtype, uint64_t* n_bytes) {
  uint64_t numel = 1;
  bool has_zero = false;
  for (int64_t dim : shape) has_zero |= dim == 0;
  if (!has_zero) {
    for (int64_t dim : shape) {
      if (__builtin_mul_overflow(numel, uint64_t(dim), &numel)) return false;
    }
    if (numel > uint64_t(kMaxInt64)) return false;
  } else {
    numel = 0;  // a zero dim empties the tensor, however large the other dims are
  }
  return !__builtin_mul_overflow(numel, uint64_t(dtype_size(dtype)), n_bytes);
}

bool parse_dtype(const std::string& text, DType* dtype) {
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kI8}) {
    if (text == dtype_name(d)) {
      *dtype = d;
      return true;
    }
  }
  return false;
}

// A JSON value as a non-negative integer no larger than `max`; false if it is anything else
// (negative, fractional like 2.5 or 2.0, a string, too large).
bool json_to_count(const Json& value, uint64_t max, uint64_t* out) {
  if (!value.is_number_unsigned()) return false;  // nlohmann keeps non-negative ints unsigned
  uint64_t v = value.get<uint64_t>();
  if (v > max) return false;
  *out = v;
  return true;
}

std::string json_text(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// Validates one tensor entry of the header (not its place in the data section).
TensorInfo parse_entry(const std::string& where, const std::string& name, const Json& entry) {
  std::string at = str_cat("tensor '", name, "'");
  if (!entry.is_object()) fail(where, at, ": entry is not a JSON object but ", json_text(entry));
  for (const auto& field : entry.items()) {
    const std::string& key = field.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(where, at, ": unknown field '", key, "' (expected dtype, shape, data_offsets)");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(where, at, ": missing field '", key, "'");

  TensorInfo info;
  info.name = name;
  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail(where, at, ": field 'dtype' must be a string, got ", json_text(dtype));
  if (!parse_dtype(dtype.get<std::string>(), &info.dtype))
    fail(where, at, ": unsupported dtype '", dtype.get<std::string>(),
         "' (Sculpt reads F32, F16, BF16, I8)");

  const Json& shape = entry["shape"];
  if (!shape.is_array()) fail(where, at, ": field 'shape' must be an array, got ", json_text(shape));
  info.shape.reserve(shape.size());  // bounded by the header text, already in memory
  for (size_t i = 0; i < shape.size(); ++i) {
    uint64_t dim;
    if (!json_to_count(shape[i], uint64_t(kMaxInt64), &dim))
      fail(where, at, ": shape dimension ", i, " is ", json_text(shape[i]),
           ", expected a non-negative integer");
    info.shape.push_back(int64_t(dim));
  }

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 ||
      !json_to_count(offsets[0], std::numeric_limits<uint64_t>::max(), &info.begin) ||
      !json_to_count(offsets[1], std::numeric_limits<uint64_t>::max(), &info.end))
    fail(where, at, ": field 'data_offsets' must be two non-negative integers [begin, end], got ",
         json_text(offsets));
  if (info.begin > info.end)
    fail(where, at, ": data_offsets ", range_text(info.begin, info.end), " have begin > end");

  uint64_t n_bytes;
  if (!checked_n_bytes(info.shape, info.dtype, &n_bytes))
    fail(where, at, ": shape ", shape_text(info.shape), " overflows the 64-bit element count");
  if (info.end - info.begin != n_bytes)
    fail(where, at, ": data_offsets ", range_text(info.begin, info.end), " span ",
         info.end - info.begin, " bytes but shape ", shape_text(info.shape), " of ",
         dtype_name(info.dtype), " needs ", n_bytes, " bytes");
  return info;
}

void parse_metadata(const std::string& where, const Json& value,
                    std::map<std::string, std::string>* metadata) {
  if (!value.is_object())
    fail(where, "'", kMetadataKey, "' must be an object of strings, got ", json_text(value));
  for (const auto& item : value.items()) {
    if (!item.value().is_string())
      fail(where, "'", kMetadataKey, "' must be an object of strings, but key '", item.key(),
           "' holds ", json_text(item.value()));
    (*metadata)[item.key()] = item.value().get<std::string>();
  }
}

// Parses the header JSON, refusing duplicate keys at any depth: nlohmann::json would silently
// keep the last one, so a tensor could be shadowed by a later entry of the same name.
Json parse_header_json(const std::string& where, const uint8_t* begin, const uint8_t* end) {
  std::vector<std::set<std::string>> open_objects;  // keys seen in each open object
  std::string duplicate;
  bool duplicate_at_top = false;
  auto track_keys = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && duplicate.empty() && !open_objects.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        duplicate = key;
        duplicate_at_top = open_objects.size() == 1;
      }
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(begin, end, track_keys, /*allow_exceptions=*/true,
                         /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    fail(where, "header is not valid JSON: ", e.what());
  }
  if (!duplicate.empty()) {
    if (duplicate_at_top) fail(where, "header has duplicate tensor name '", duplicate, "'");
    fail(where, "header has duplicate key '", duplicate, "' inside an entry");
  }
  if (!header.is_object()) fail(where, "header is not a JSON object but ", header.type_name());
  return header;
}

// The header of write_safetensors, before padding: compact JSON in the reference's field order.
std::string header_json(const std::vector<const TensorView*>& order,
                        const std::vector<uint64_t>& offsets,
                        const std::map<std::string, std::string>& metadata) {
  std::string out = "{";
  if (!metadata.empty()) {
    out += str_cat("\"", kMetadataKey, "\":{");
    bool first = true;
    for (const auto& [key, value] : metadata) {
      out += (first ? "" : ",") + Json(key).dump() + ":" + Json(value).dump();
      first = false;
    }
    out += "}";
  }
  for (size_t i = 0; i < order.size(); ++i) {
    const TensorView& t = *order[i];
    if (out.size() > 1) out += ",";
    out += Json(t.name).dump() + ":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) out += (d ? "," : "") + std::to_string(t.shape[d]);
    out += str_cat("],\"data_offsets\":[", offsets[i], ",", offsets[i + 1], "]}");
  }
  return out + "}";
}

}  // namespace

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
    case DType::kI8: return 1;
  }
  fail("dtype_size", "invalid DType value ", int(dtype));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kI8: return "I8";
  }
  fail("dtype_name", "invalid DType value ", int(dtype));
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

SafetensorsIndex parse_safetensors(const uint8_t* data, size_t size, const std::string& where) {
  if (size < 8) fail(where, "file is ", size, " bytes, shorter than 8 bytes (the header length)");
  uint64_t n_header = 0;
  for (int i = 7; i >= 0; --i) n_header = (n_header << 8) | data[i];
  if (n_header > kMaxSafetensorsHeaderBytes)
    fail(where, "header length ", n_header, " exceeds the limit of ", kMaxSafetensorsHeaderBytes,
         " bytes");
  if (n_header > size - 8)
    fail(where, "header length ", n_header, " is larger than the file (", size - 8,
         " bytes after the length)");

  const uint8_t* header_begin = data + 8;
  size_t bad = find_invalid_utf8(header_begin, size_t(n_header));
  if (bad != std::string::npos)
    fail(where, "header is not valid UTF-8 (at header byte ", bad, ")");
  Json header = parse_header_json(where, header_begin, header_begin + n_header);

  SafetensorsIndex index;
  index.data_offset = 8 + n_header;
  index.data_size = size - index.data_offset;
  index.tensors.reserve(header.size());  // bounded by the parsed header, already in memory
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      parse_metadata(where, item.value(), &index.metadata);
      continue;
    }
    index.tensors.push_back(parse_entry(where, item.key(), item.value()));
  }

  // Data order; then the ranges must tile [0, data_size) exactly, as the reference requires.
  std::sort(index.tensors.begin(), index.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
            });
  uint64_t covered = 0;  // end of the bytes covered so far
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& t : index.tensors) {
    if (t.end > index.data_size)
      fail(where, "tensor '", t.name, "': data_offsets ", range_text(t.begin, t.end),
           " extend past the end of the data section (", index.data_size, " bytes)");
    if (t.begin < covered)
      fail(where, "tensor '", t.name, "': data_offsets ", range_text(t.begin, t.end),
           " overlap tensor '", previous->name, "' ", range_text(previous->begin, previous->end));
    if (t.begin > covered)
      fail(where, "data section bytes ", range_text(covered, t.begin),
           " are not covered by any tensor (gap before tensor '", t.name, "')");
    covered = t.end;
    previous = &t;
  }
  if (covered != index.data_size)
    fail(where, "data section bytes ", range_text(covered, index.data_size),
         " are not covered by any tensor (after the last tensor)");
  return index;
}

namespace {

// The file's `size` bytes read into a private anonymous mapping advised into huge pages, or
// MAP_FAILED with errno set.
void* read_into_memory(int fd, size_t size) {
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return MAP_FAILED;
  ::madvise(memory, size, MADV_HUGEPAGE);  // a hint: without it the pages are 4 KiB
  for (size_t done = 0; done < size;) {
    const ssize_t got = ::pread(fd, static_cast<uint8_t*>(memory) + done, size - done, off_t(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int err = got == 0 ? EIO : errno;  // 0: the file shrank while it was read
      ::munmap(memory, size);
      errno = err;
      return MAP_FAILED;
    }
    done += size_t(got);
  }
  return memory;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path, Residency residency) {
  SafetensorsFile file;
  file.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open: ", errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path, "cannot stat: ", errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "is not a regular file");
  }
  file.map_size_ = size_t(st.st_size);
  if (file.map_size_ > 0) {  // mmap refuses length 0; parse_safetensors reports the short file
    // Writable but private (copy-on-write): a model may take its weights straight from the
    // file's memory and still change them (LoRA merging, training) without touching the file.
    const bool read = residency == Residency::kLoaded;
    if (read) {
      try {  // unlike a mapping's pages, read memory cannot be given back to the page cache
        check_memory(path, int64_t(file.map_size_), "it is read whole into memory: use a smaller model");
      } catch (...) {
        ::close(fd);
        throw;
      }
    }
    void* map = read ? read_into_memory(fd, file.map_size_)
                     : ::mmap(nullptr, file.map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail(path, read ? "cannot read " : "cannot mmap ", file.map_size_, " bytes: ", errno_text(err));
    }
    file.map_ = static_cast<const uint8_t*>(map);
  }
  ::close(fd);  // a mapping keeps the file alive

  // On a throw below, `file`'s destructor unmaps.
  file.index_ = parse_safetensors(file.map_, file.map_size_, path);
  for (size_t i = 0; i < file.index_.tensors.size(); ++i)
    file.by_name_.emplace(file.index_.tensors[i].name, i);
  return file;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      index_(std::move(other.index_)),
      by_name_(std::move(other.by_name_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    index_ = std::move(other.index_);
    by_name_ = std::move(other.by_name_);
  }
  return *this;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &index_.tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) fail(path_, "no tensor named '", name, "'");
  return *info;
}

const uint8_t* SafetensorsFile::data(const TensorInfo& info) const {
  // Guards against a TensorInfo from another file pointing outside this mapping.
  if (info.begin > info.end || info.end > index_.data_size)
    fail(path_, "tensor '", info.name, "': range ", range_text(info.begin, info.end),
         " is outside this file's data section");
  return map_ + index_.data_offset + info.begin;
}

void SafetensorsFile::drop_pages(const TensorInfo& info) const {
  const auto page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data(info));
  const uintptr_t first = (begin + page - 1) / page * page, last = (begin + (info.end - info.begin)) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // a hint: failure is harmless
}

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> names;
  for (const TensorView& t : tensors) {
    std::string at = str_cat("tensor '", t.name, "'");
    if (!is_valid_utf8(t.name)) fail(path, "a tensor name is not valid UTF-8");
    if (t.name == kMetadataKey) fail(path, "'", kMetadataKey, "' is reserved, not a tensor name");
    if (!names.insert(t.name).second) fail(path, "duplicate tensor name '", t.name, "'");
    for (int64_t dim : t.shape)
      if (dim < 0) fail(path, at, ": shape ", shape_text(t.shape), " has a negative dimension");
    dtype_size(t.dtype);  // refuses an out-of-range enum value
    uint64_t n_bytes;
    if (!checked_n_bytes(t.shape, t.dtype, &n_bytes))
      fail(path, at, ": shape ", shape_text(t.shape), " overflows the 64-bit element count");
    if (n_bytes > 0 && t.data == nullptr) fail(path, at, ": data pointer is null");
  }
  for (const auto& [key, value] : metadata)
    if (!is_valid_utf8(key) || !is_valid_utf8(value))
      fail(path, "metadata key or value is not valid UTF-8 (key '", key, "')");

  // Largest dtype first so every tensor stays aligned to its element size, then by name.
  std::vector<const TensorView*> order;
  for (const TensorView& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorView* a, const TensorView* b) {
    auto rank = [](DType d) { return d == DType::kF32 ? 0 : d == DType::kBF16 ? 1 : d == DType::kF16 ? 2 : 3; };
    return std::make_pair(rank(a->dtype), std::string_view(a->name)) <
           std::make_pair(rank(b->dtype), std::string_view(b->name));
  });
  std::vector<uint64_t> offsets{0};  // offsets[i], offsets[i + 1] bound order[i]
  for (const TensorView* t : order) {
    uint64_t n_bytes = uint64_t(t->numel()) * dtype_size(t->dtype);
    uint64_t next;
    if (__builtin_add_overflow(offsets.back(), n_bytes, &next))
      fail(path, "total tensor data overflows 64 bits");
    offsets.push_back(next);
  }

  std::string header = header_json(order, offsets, metadata);
  header.append((8 - header.size() % 8) % 8, ' ');  // data section starts 8-aligned
  if (header.size() > kMaxSafetensorsHeaderBytes)
    fail(path, "header would be ", header.size(), " bytes, more than readers accept (",
         kMaxSafetensorsHeaderBytes, ")");

  uint8_t prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  AtomicFile out(path);
  out.write(prefix, sizeof prefix);
  out.write(header);
  for (size_t i = 0; i < order.size(); ++i)
    if (offsets[i + 1] > offsets[i]) out.write(order[i]->data, size_t(offsets[i + 1] - offsets[i]));
  out.commit();
}

float f16_to_f32(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000) << 16;
  uint32_t exponent = (half >> 10) & 0x1F;
  uint32_t mantissa = half & 0x3FF;
  if (exponent == 0x1F) return bits_float(sign | 0x7F800000 | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in f32.
  float magnitude = float(mantissa) * bits_float(0x33800000);  // 2^-24
  return sign ? -magnitude : magnitude;
}

uint16_t f32_to_f16(float value) {
  uint32_t bits = float_bits(value);
  uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude > 0x7F800000)  // NaN: quiet it, keep the leading payload bits
    return uint16_t(sign | 0x7E00 | ((magnitude >> 13) & 0x3FF));
  // 65520 = 0x477FF000 lies halfway between 65504 (max f16, odd mantissa) and 2^16: ties to even
  // round up to infinity, so everything from there on (and infinity itself) becomes infinity.
  if (magnitude >= 0x477FF000) return uint16_t(sign | 0x7C00);
  if (magnitude >= 0x38800000)  // normal f16 (>= 2^-14): rebias the exponent, round 13 bits off
    return uint16_t(sign | shift_round_even(magnitude - 0x38000000, 13));
  // Subnormal f16: value / 2^-24 = (1.mantissa) * 2^(exponent - 126); round off `shift` bits.
  int exponent = int(magnitude >> 23);
  int shift = 126 - exponent;  // >= 14 here
  if (shift > 24) return sign;  // below 2^-25: rounds to zero
  uint32_t significand = (magnitude & 0x7FFFFF) | 0x800000;
  // Rounding up from 0x3FF gives 0x400, which is exactly the smallest normal: still correct.
  return uint16_t(sign | shift_round_even(significand, shift));
}

float bf16_to_f32(uint16_t brain) { return bits_float(uint32_t(brain) << 16); }

uint16_t f32_to_bf16(float value) {
  uint32_t bits = float_bits(value);
  // NaN: truncation could clear every payload bit left and turn a NaN into infinity.
  if ((bits & 0x7FFFFFFF) > 0x7F800000) return uint16_t((bits >> 16) | 0x0040);
  uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);  // ties to even; overflow carries to inf
  return uint16_t((bits + rounding) >> 16);
}

}  // namespace sculpt
