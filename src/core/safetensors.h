// Strict, torch-free reader and writer for the safetensors format
// (https://github.com/huggingface/safetensors), plus the f16/bf16 <-> f32 conversions.
//
//   auto file = sculpt::SafetensorsFile::open("model.safetensors");
//   const sculpt::TensorInfo& w = file.at("lm_head.weight");  // Error naming file and tensor
//   sculpt::write_safetensors("copy.safetensors", {{w.name, w.dtype, w.shape, file.data(w)}});
//
// Layout: 8-byte little-endian u64 N, N bytes of UTF-8 JSON, then the data section. The JSON
// object maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section); the optional key "__metadata__" maps to an object of strings.
//
// The reader treats every file as hostile: each field is checked against the real file size
// before it is used, so no allocation or read is ever sized by an unchecked header field.
// Stricter than the Rust reference in two ways: unknown fields inside a tensor entry and
// duplicate JSON keys are refused (the reference ignores the first and keeps the last duplicate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sculpt {

// The dtypes Sculpt reads and writes; any other dtype in a file is refused, naming it.
// kI8 holds int8 weights, whose float32 scales are tensors of their own (core/int8_weights.h).
enum class DType { kF32, kF16, kBF16, kI8 };

size_t dtype_size(DType dtype);       // bytes per element: 4, 2, 2, 1
const char* dtype_name(DType dtype);  // the file's spelling: "F32", "F16", "BF16", "I8"

// One tensor of a parsed file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // [] is a scalar; a 0 dim makes an empty tensor
  uint64_t begin = 0;          // byte range [begin, end) in the data section
  uint64_t end = 0;
  int64_t numel() const;  // product of shape (1 for a scalar); validated not to overflow
};

// A validated header. tensors are in data-section order (by begin, then end); together they
// cover the data section exactly, without gaps or overlaps.
struct SafetensorsIndex {
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__", empty if absent
  uint64_t data_offset = 0;  // where the data section starts in the image: 8 + N
  uint64_t data_size = 0;    // bytes in the data section
};

// Largest header accepted, as in the reference implementation (MAX_HEADER_SIZE).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Parses and validates a whole safetensors image held in memory (used by SafetensorsFile and by
// fuzzers). `where` names the source in error messages. Throws Error on any malformed input.
SafetensorsIndex parse_safetensors(const uint8_t* data, size_t size, const std::string& where);

// A safetensors file in memory, mapped or read (see Residency), private either way: writes
// through its memory are private copies that never reach the file; data() hands out const
// pointers all the same. Move-only; the memory lives as long as the object, so pointers from
// data() must not outlive it. As with any mapping, truncating a mapped file makes later reads
// fault (SIGBUS).
class SafetensorsFile {
 public:
  // How open() holds the file's bytes.
  enum class Residency {
    // mmap MAP_PRIVATE: a page is read when first touched, so looking at a few tensors of a large
    // file costs only those. Backed by the page cache's pages as they are.
    kMapped,
    // Read whole into private memory advised into 2 MiB pages (MADV_HUGEPAGE), for weights a
    // model computes from in place; refused (Error) when the file does not fit in the memory
    // available. A file the page cache holds in 4 KiB pages (one written by small writes, our
    // own checkpoints among them) streams slower when mapped: decoding an 88M float32 model was
    // 14-16% faster read with 2 threads and 18-21% with one (docs/speed.md).
    kLoaded,
  };
  // Maps or reads the file and validates it; throws Error naming the path if it cannot.
  static SafetensorsFile open(const std::string& path, Residency residency = Residency::kMapped);

  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::vector<TensorInfo>& tensors() const { return index_.tensors; }  // data order
  const TensorInfo* find(std::string_view name) const;  // nullptr if absent
  const TensorInfo& at(std::string_view name) const;    // Error naming file and tensor if absent
  // Pointer to the tensor's first byte inside the mapping (numel * dtype_size bytes). Aligned to
  // the dtype size when the file came from write_safetensors or the reference writer; files from
  // other writers may be misaligned, so read through memcpy unless alignment was checked.
  const uint8_t* data(const TensorInfo& info) const;
  // Says the tensor's bytes will not be read again (MADV_DONTNEED on the whole pages inside its
  // range; a page it shares with a neighbour is kept), so a tensor copied out of the file's
  // memory leaves resident memory at once. Reading it afterwards reads the file again (kMapped)
  // or zeros (kLoaded).
  void drop_pages(const TensorInfo& info) const;
  const std::map<std::string, std::string>& metadata() const { return index_.metadata; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  void unmap();

  std::string path_;
  const uint8_t* map_ = nullptr;  // the whole file, or nullptr for an empty mapping
  size_t map_size_ = 0;
  SafetensorsIndex index_;
  std::map<std::string, size_t, std::less<>> by_name_;  // name -> position in index_.tensors
};

// A tensor to write: numel * dtype_size bytes at data, little-endian, C order.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // may be null only for an empty tensor
  int64_t numel() const;       // product of shape; no overflow check (the writer checks)
};

// Writes tensors and metadata atomically (AtomicFile: temp file, fsync, rename), so a failure
// leaves any old file at `path` intact. Everything is validated before the temp file is made.
// Deterministic output, byte-identical to the reference writer: data ordered by descending dtype
// size (F32, then BF16, then F16; keeps every tensor aligned), then by name; compact JSON header
// with "__metadata__" first (keys sorted) and tensors in data order, padded with spaces to a
// multiple of 8 bytes. Refuses duplicate names, the name "__metadata__", invalid UTF-8, negative
// dims, size overflow and a null data pointer for a non-empty tensor.
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Conversions for checkpoint code. Narrowing rounds to nearest, ties to even; overflow gives
// infinity; NaN stays NaN (quieted, sign and leading payload bits kept).
float f16_to_f32(uint16_t half);
uint16_t f32_to_f16(float value);
float bf16_to_f32(uint16_t brain);
uint16_t f32_to_bf16(float value);

}  // namespace sculpt
