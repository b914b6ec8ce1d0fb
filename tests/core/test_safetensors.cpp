// Tests for the safetensors reader and writer: round trips, exact header bytes, f16/bf16
// rounding, malformed files refused with clear messages, atomic overwrite, numpy parity.
#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

using sculpt::testing::TempDir;

std::string le64(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += char(uint8_t(n >> (8 * i)));
  return out;
}

// An image with this exact header text (no padding) and n_data zero bytes of data.
std::string image(const std::string& header, size_t n_data) {
  return le64(header.size()) + header + std::string(n_data, '\0');
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The Error message thrown by `run`, or "<no error>".
std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::vector<uint8_t> byte_pattern(size_t n, int seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = uint8_t(i * 37 + seed * 11 + 5);
  return out;
}

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// --- Round trips -------------------------------------------------------------------------------

class SafetensorsRoundTripTest : public ::testing::TestWithParam<DType> {};

TEST_P(SafetensorsRoundTripTest, KeepsShapesBytesAndMetadata) {
  const DType dtype = GetParam();
  TempDir dir;
  const std::string path = dir.file("round_trip.safetensors");
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"scalar", {}}, {"empty", {0, 3}}, {"vec", {5}}, {"mat", {2, 3}}, {"cube", {2, 1, 4}}};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<TensorView> views;
  for (size_t i = 0; i < shapes.size(); ++i) {
    TensorView view{shapes[i].first, dtype, shapes[i].second, nullptr};
    bytes.push_back(byte_pattern(size_t(view.numel()) * dtype_size(dtype), int(i)));
    view.data = bytes.back().empty() ? nullptr : bytes.back().data();  // null is fine when empty
    views.push_back(view);
  }
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "é \"q\"\n"}};
  write_safetensors(path, views, metadata);

  SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), shapes.size());
  // One dtype, so the data section is in name order.
  std::vector<std::string> names;
  for (const TensorInfo& t : file.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cube", "empty", "mat", "scalar", "vec"}));
  for (size_t i = 0; i < shapes.size(); ++i) {
    const TensorInfo& info = file.at(shapes[i].first);
    EXPECT_EQ(info.dtype, dtype);
    EXPECT_EQ(info.shape, shapes[i].second);
    EXPECT_EQ(info.numel(), views[i].numel());
    ASSERT_EQ(info.end - info.begin, bytes[i].size()) << info.name;
    if (!bytes[i].empty()) {  // memcmp must not see the null data() of an empty vector
      EXPECT_EQ(std::memcmp(file.data(info), bytes[i].data(), bytes[i].size()), 0) << info.name;
    }
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.data(info)) % dtype_size(dtype), 0u) << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(EachDType, SafetensorsRoundTripTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(SafetensorsWriterTest, OrdersDataByDescendingDtypeSizeThenName) {
  TempDir dir;
  const std::string path = dir.file("mixed.safetensors");
  std::vector<uint8_t> buffer = byte_pattern(64, 1);
  write_safetensors(path, {{"a", DType::kF16, {3}, buffer.data()},
                           {"d", DType::kF32, {2}, buffer.data()},
                           {"c", DType::kBF16, {1}, buffer.data()},
                           {"b", DType::kF32, {1}, buffer.data()}});
  SafetensorsFile file = SafetensorsFile::open(path);
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> layout;
  for (const TensorInfo& t : file.tensors()) {
    layout.emplace_back(t.name, t.begin, t.end);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.data(t)) % dtype_size(t.dtype), 0u) << t.name;
  }
  using Row = std::tuple<std::string, uint64_t, uint64_t>;
  EXPECT_EQ(layout, (std::vector<Row>{{"b", 0, 4}, {"d", 4, 12}, {"c", 12, 14}, {"a", 14, 20}}));
}

TEST(SafetensorsWriterTest, SameInputGivesSameBytes) {
  TempDir dir;
  std::vector<uint8_t> buffer = byte_pattern(16, 2);
  std::vector<TensorView> views = {{"y", DType::kF16, {2}, buffer.data()},
                                   {"x", DType::kF32, {2}, buffer.data()}};
  write_safetensors(dir.file("one.safetensors"), views, {{"k", "v"}});
  std::swap(views[0], views[1]);  // the order given does not matter
  write_safetensors(dir.file("two.safetensors"), views, {{"k", "v"}});
  EXPECT_EQ(read_bytes(dir.file("one.safetensors")), read_bytes(dir.file("two.safetensors")));
}

// --- Exact bytes (the same as the reference implementation's serialize()) ---------------------

struct ExactCase {
  const char* name;
  std::vector<TensorView> tensors;
  std::map<std::string, std::string> metadata;
  std::string expected;
};

TEST(SafetensorsWriterTest, WritesExactBytesPaddedToEight) {
  static const float kValues[6] = {0, 1, 2, 3, 4, 5};
  std::string values(reinterpret_cast<const char*>(kValues), sizeof kValues);
  const std::vector<ExactCase> cases = {
      {"empty", {}, {}, le64(8) + "{}" + std::string(6, ' ')},
      {"metadata_only", {}, {{"framework", "pt"}},
       le64(40) + R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ')},
      {"one_tensor_64", {{"attn.0", DType::kF32, {1, 2, 3}, kValues}}, {},
       le64(64) + R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" + values},
      {"one_tensor_padded", {{"attn0", DType::kF32, {1, 1, 2, 3}, kValues}}, {},
       le64(72) + R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" +
           std::string(7, ' ') + values},
  };
  TempDir dir;
  for (const ExactCase& c : cases) {
    const std::string path = dir.file(std::string(c.name) + ".safetensors");
    write_safetensors(path, c.tensors, c.metadata);
    EXPECT_EQ(read_bytes(path), c.expected) << c.name;
    EXPECT_NO_THROW(SafetensorsFile::open(path)) << c.name;
  }
}

// --- Conversions -------------------------------------------------------------------------------

TEST(HalfConversionTest, F32ToF16RoundsToNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  const struct { float value; uint16_t half; } cases[] = {
      {1.0f, 0x3C00},
      {-2.5f, 0xC100},
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {65504.0f, 0x7BFF},                           // largest finite f16
      {65519.0f, 0x7BFF},                           // below the halfway point
      {65520.0f, 0x7C00},                           // halfway to 2^16, odd mantissa: tie to inf
      {1e6f, 0x7C00},                               // overflow
      {inf, 0x7C00},
      {-inf, 0xFC00},
      {std::ldexp(1.0f, -14), 0x0400},              // smallest normal
      {std::ldexp(1.0f, -24), 0x0001},              // smallest subnormal
      {std::ldexp(1023.0f, -24), 0x03FF},           // largest subnormal
      {std::ldexp(1.0f, -25), 0x0000},              // tie between 0 and 2^-24: even is 0
      {std::ldexp(3.0f, -25), 0x0002},              // tie between 1 and 2 ulps: even is 2
      {std::ldexp(1.0f, -26), 0x0000},              // underflow
      {std::ldexp(2047.0f, -25), 0x0400},           // rounds up from subnormal into normal
      {1.0f + std::ldexp(1.0f, -11), 0x3C00},       // tie: 0x3C00 is even
      {1.0f + std::ldexp(3.0f, -11), 0x3C02},       // tie: 0x3C01 is odd, go up
      {1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20), 0x3C01},  // just above the tie
  };
  for (const auto& c : cases)
    EXPECT_EQ(f32_to_f16(c.value), c.half) << c.value << " (f32 bits " << std::hex
                                           << float_bits(c.value) << ")";
}

TEST(HalfConversionTest, F16ToF32IsExact) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC100), -2.5f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(float_bits(f16_to_f32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));  // signalling NaN stays NaN
}

TEST(HalfConversionTest, NanStaysNan) {
  const float quiet = std::numeric_limits<float>::quiet_NaN();
  uint32_t signalling_bits = 0x7F800001;  // payload only in the low bits
  float signalling;
  std::memcpy(&signalling, &signalling_bits, sizeof signalling);
  for (float nan : {quiet, -quiet, signalling}) {
    uint16_t half = f32_to_f16(nan);
    EXPECT_EQ(half & 0x7C00, 0x7C00);
    EXPECT_NE(half & 0x03FF, 0) << std::hex << half;
    EXPECT_EQ(bool(half & 0x8000), std::signbit(nan));
    uint16_t brain = f32_to_bf16(nan);
    EXPECT_EQ(brain & 0x7F80, 0x7F80);
    EXPECT_NE(brain & 0x007F, 0) << std::hex << brain;  // truncation would give infinity
    EXPECT_EQ(bool(brain & 0x8000), std::signbit(nan));
  }
}

TEST(HalfConversionTest, EveryF16SurvivesARoundTrip) {
  int n_wrong = 0;
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float value = f16_to_f32(uint16_t(h));
    if (std::isnan(value)) continue;
    if (f32_to_f16(value) != h) ++n_wrong;
  }
  EXPECT_EQ(n_wrong, 0);
}

TEST(BrainFloatConversionTest, F32ToBF16RoundsToNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  const struct { float value; uint16_t brain; } cases[] = {
      {1.0f, 0x3F80},
      {-2.5f, 0xC020},
      {-0.0f, 0x8000},
      {65504.0f, 0x4780},                      // 0x477FE000: rounds up to 65536
      {1.0f + std::ldexp(1.0f, -8), 0x3F80},   // tie: 0x3F80 is even
      {1.0f + std::ldexp(3.0f, -8), 0x3F82},   // tie: 0x3F81 is odd, go up
      {1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20), 0x3F81},
      {std::numeric_limits<float>::max(), 0x7F80},  // rounds past the largest bf16 to inf
      {inf, 0x7F80},
      {-inf, 0xFF80},
      {std::ldexp(1.0f, -133), 0x0001},        // smallest bf16 subnormal
  };
  for (const auto& c : cases)
    EXPECT_EQ(f32_to_bf16(c.value), c.brain) << c.value;
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC020), -2.5f);
  EXPECT_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));
  EXPECT_EQ(bf16_to_f32(0x7F80), inf);
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
  int n_wrong = 0;
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    float value = bf16_to_f32(uint16_t(b));
    if (!std::isnan(value) && f32_to_bf16(value) != b) ++n_wrong;
  }
  EXPECT_EQ(n_wrong, 0);
}

// --- Reading valid files -----------------------------------------------------------------------

TEST(SafetensorsReaderTest, AcceptsEdgeCases) {
  const struct { const char* name; std::string bytes; size_t n_tensors; } cases[] = {
      {"empty_object_no_padding", image("{}", 0), 0},
      {"whitespace_around", image(" \n{ }\t ", 0), 0},
      {"offsets_listed_out_of_order",
       image(R"({"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]},)"
             R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 8), 2},
      {"empty_tensors_share_an_offset",
       image(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
             R"("f":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]},)"
             R"("g":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
             R"("h":{"dtype":"F16","shape":[7,0],"data_offsets":[2,2]}})", 2), 4},
      {"zero_dim_beside_huge_dims",
       image(R"({"e":{"dtype":"F32","shape":[9223372036854775807,0,9223372036854775807],)"
             R"("data_offsets":[0,0]}})", 0), 1},
      {"empty_metadata", image(R"({"__metadata__":{}})", 0), 0},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SafetensorsIndex index = parse_safetensors(reinterpret_cast<const uint8_t*>(c.bytes.data()),
                                               c.bytes.size(), c.name);
    EXPECT_EQ(index.tensors.size(), c.n_tensors);
    const std::string path = dir.file(std::string(c.name) + ".safetensors");
    write_bytes(path, c.bytes);
    EXPECT_EQ(SafetensorsFile::open(path).tensors().size(), c.n_tensors);
  }
}

TEST(SafetensorsReaderTest, FindAndAt) {
  TempDir dir;
  const std::string path = dir.file("find.safetensors");
  float value = 3.0f;
  write_safetensors(path, {{"w", DType::kF32, {}, &value}});
  SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_NE(file.find("w"), nullptr);
  EXPECT_EQ(file.find("nope"), nullptr);
  float read;
  std::memcpy(&read, file.data(file.at("w")), sizeof read);
  EXPECT_EQ(read, 3.0f);
  std::string message = error_of([&] { file.at("nope"); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("no tensor named 'nope'"), std::string::npos) << message;
}

TEST(SafetensorsReaderTest, MovesKeepTheMapping) {
  TempDir dir;
  const std::string path = dir.file("move.safetensors");
  float values[2] = {1.5f, -4.0f};
  write_safetensors(path, {{"w", DType::kF32, {2}, values}});
  SafetensorsFile first = SafetensorsFile::open(path);
  SafetensorsFile second = std::move(first);
  SafetensorsFile third = SafetensorsFile::open(path);
  third = std::move(second);
  EXPECT_EQ(std::memcmp(third.data(third.at("w")), values, sizeof values), 0);
}

// Read into memory (kLoaded) holds the same bytes as the mapping, privately: writes to it never
// reach the file; a dropped tensor reads as zeros, where a mapped one is read from the file again.
TEST(SafetensorsReaderTest, LoadedHoldsTheMappedBytesPrivately) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  const int64_t n = 3 * 4096 + 5;  // a tensor spanning whole pages, and an odd tail
  std::vector<float> big(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) big[size_t(i)] = float(i) * 0.25f - 7.0f;
  const std::vector<uint16_t> half = {1, 2, 3};
  write_safetensors(path, {{"big", DType::kF32, {n}, big.data()}, {"half", DType::kF16, {3}, half.data()}},
                    {{"k", "v"}});
  const SafetensorsFile mapped = SafetensorsFile::open(path);
  const SafetensorsFile loaded = SafetensorsFile::open(path, SafetensorsFile::Residency::kLoaded);
  ASSERT_EQ(loaded.tensors().size(), 2u);
  EXPECT_EQ(loaded.metadata(), mapped.metadata());
  for (const TensorInfo& t : mapped.tensors()) {
    const TensorInfo& l = loaded.at(t.name);
    EXPECT_EQ(l.dtype, t.dtype);
    EXPECT_EQ(l.shape, t.shape);
    ASSERT_EQ(l.end - l.begin, t.end - t.begin);
    EXPECT_EQ(std::memcmp(loaded.data(l), mapped.data(t), size_t(t.end - t.begin)), 0) << t.name;
  }
  const TensorInfo& info = loaded.at("big");
  auto* first = const_cast<float*>(reinterpret_cast<const float*>(loaded.data(info)));
  first[0] = 1234.5f;  // private memory: the file keeps its bytes
  EXPECT_EQ(reinterpret_cast<const float*>(SafetensorsFile::open(path).data(info))[0], big[0]);
  loaded.drop_pages(info);
  mapped.drop_pages(mapped.at("big"));
  const auto* after_loaded = reinterpret_cast<const float*>(loaded.data(info));
  const auto* after_mapped = reinterpret_cast<const float*>(mapped.data(mapped.at("big")));
  const int64_t middle = n / 2;  // inside a whole page of the tensor
  EXPECT_EQ(after_loaded[middle], 0.0f);
  EXPECT_EQ(after_mapped[middle], big[size_t(middle)]);
}

TEST(SafetensorsReaderTest, RefusesMissingFileAndDirectory) {
  TempDir dir;
  std::string missing = dir.file("missing.safetensors");
  std::string message = error_of([&] { SafetensorsFile::open(missing); });
  EXPECT_NE(message.find(missing + ": cannot open"), std::string::npos) << message;
  message = error_of([&] { SafetensorsFile::open(missing, SafetensorsFile::Residency::kLoaded); });
  EXPECT_NE(message.find(missing + ": cannot open"), std::string::npos) << message;
  const std::string garbage = dir.file("garbage.safetensors");
  std::ofstream(garbage) << "not a safetensors file at all";
  message = error_of([&] { SafetensorsFile::open(garbage, SafetensorsFile::Residency::kLoaded); });
  EXPECT_NE(message.find(garbage), std::string::npos) << message;
  // A file larger than the memory available is refused before it is read (a sparse 1 TiB file).
  const std::string huge = dir.file("huge.safetensors");
  std::ofstream(huge).close();
  fs::resize_file(huge, uintmax_t(1) << 40);
  message = error_of([&] { SafetensorsFile::open(huge, SafetensorsFile::Residency::kLoaded); });
  EXPECT_NE(message.find(huge + ": needs 1024.00 GiB"), std::string::npos) << message;
  fs::create_directory(dir.file("a_dir"));
  message = error_of([&] { SafetensorsFile::open(dir.file("a_dir")); });
  EXPECT_NE(message.find("is not a regular file"), std::string::npos) << message;
}

// --- Malformed files: each refused with a message naming the file and the problem ------------

struct MalformedCase {
  const char* name;
  std::string bytes;
  const char* phrase;  // must appear in the message, after the file name
};

std::string entry(const std::string& name, const std::string& body) {
  return "\"" + name + "\":{" + body + "}";
}

const std::vector<MalformedCase>& malformed_cases() {
  static const std::vector<MalformedCase> cases = {
      {"empty_file", "", "file is 0 bytes, shorter than 8 bytes"},
      {"short_file", "abc", "file is 3 bytes, shorter than 8 bytes"},
      {"header_longer_than_file", le64(100) + "{}", "header length 100 is larger than the file"},
      {"header_absurdly_large", le64(uint64_t(1) << 40) + "{}", "exceeds the limit"},
      {"header_length_u64_max", le64(std::numeric_limits<uint64_t>::max()), "exceeds the limit"},
      {"header_not_utf8", image("{\"\xff\":{}}", 0), "header is not valid UTF-8"},
      {"header_overlong_utf8", image("{\"\xc0\xaf\":{}}", 0), "header is not valid UTF-8"},
      {"header_truncated_json", image("{\"w\":", 0), "header is not valid JSON"},
      {"header_trailing_garbage", image("{} x", 0), "header is not valid JSON"},
      {"header_empty", image("", 0), "header is not valid JSON"},
      {"header_not_object", image("[1,2]", 0), "header is not a JSON object"},
      {"entry_not_object", image(R"({"w":[1]})", 0), "tensor 'w': entry is not a JSON object"},
      {"missing_dtype", image("{" + entry("w", R"("shape":[1],"data_offsets":[0,4])") + "}", 4),
       "tensor 'w': missing field 'dtype'"},
      {"missing_shape", image("{" + entry("w", R"("dtype":"F32","data_offsets":[0,4])") + "}", 4),
       "tensor 'w': missing field 'shape'"},
      {"missing_data_offsets", image("{" + entry("w", R"("dtype":"F32","shape":[1])") + "}", 4),
       "tensor 'w': missing field 'data_offsets'"},
      {"dtype_not_string",
       image("{" + entry("w", R"("dtype":4,"shape":[1],"data_offsets":[0,4])") + "}", 4),
       "tensor 'w': field 'dtype' must be a string"},
      {"shape_not_array",
       image("{" + entry("w", R"("dtype":"F32","shape":1,"data_offsets":[0,4])") + "}", 4),
       "tensor 'w': field 'shape' must be an array"},
      {"unknown_field",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1)") + "}",
             4),
       "tensor 'w': unknown field 'x'"},
      {"dtype_i64",
       image("{" + entry("w", R"("dtype":"I64","shape":[1],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': unsupported dtype 'I64'"},
      {"dtype_f64",
       image("{" + entry("w", R"("dtype":"F64","shape":[1],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': unsupported dtype 'F64'"},
      {"dtype_lowercase",
       image("{" + entry("w", R"("dtype":"f32","shape":[1],"data_offsets":[0,4])") + "}", 4),
       "tensor 'w': unsupported dtype 'f32'"},
      {"shape_negative_dim",
       image("{" + entry("w", R"("dtype":"F32","shape":[2,-1],"data_offsets":[0,0])") + "}", 0),
       "tensor 'w': shape dimension 1 is -1, expected a non-negative integer"},
      {"shape_fractional_dim",
       image("{" + entry("w", R"("dtype":"F32","shape":[2.5],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': shape dimension 0 is 2.5"},
      {"shape_float_dim",
       image("{" + entry("w", R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': shape dimension 0 is 2.0"},
      {"shape_string_dim",
       image("{" + entry("w", R"("dtype":"F32","shape":["2"],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': shape dimension 0 is \"2\""},
      {"shape_dim_above_int64",
       image("{" + entry("w", R"("dtype":"F32","shape":[9223372036854775808],)"
                              R"("data_offsets":[0,0])") + "}", 0),
       "tensor 'w': shape dimension 0 is 9223372036854775808"},
      {"shape_product_overflow",
       image("{" + entry("w", R"("dtype":"F32","shape":[4294967296,4294967296,16],)"
                              R"("data_offsets":[0,0])") + "}", 0),
       "tensor 'w': shape [4294967296, 4294967296, 16] overflows"},
      {"shape_bytes_overflow",
       image("{" + entry("w", R"("dtype":"F32","shape":[4611686018427387904],)"
                              R"("data_offsets":[0,0])") + "}", 0),
       "tensor 'w': shape [4611686018427387904] overflows"},
      {"offsets_not_array",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":"0-4")") + "}", 4),
       "tensor 'w': field 'data_offsets' must be two non-negative integers"},
      {"offsets_one_value",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[4])") + "}", 4),
       "tensor 'w': field 'data_offsets' must be two non-negative integers"},
      {"offsets_three_values",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[0,4,8])") + "}", 8),
       "tensor 'w': field 'data_offsets' must be two non-negative integers"},
      {"offsets_negative",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[-4,0])") + "}", 4),
       "tensor 'w': field 'data_offsets' must be two non-negative integers"},
      {"offsets_fractional",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[0,4.0])") + "}", 4),
       "tensor 'w': field 'data_offsets' must be two non-negative integers"},
      {"offsets_begin_after_end",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[8,4])") + "}", 8),
       "tensor 'w': data_offsets [8, 4] have begin > end"},
      {"offsets_size_mismatch",
       image("{" + entry("w", R"("dtype":"F32","shape":[3],"data_offsets":[0,8])") + "}", 8),
       "tensor 'w': data_offsets [0, 8] span 8 bytes but shape [3] of F32 needs 12 bytes"},
      {"offsets_past_data_section",
       image("{" + entry("w", R"("dtype":"F32","shape":[2],"data_offsets":[0,8])") + "}", 4),
       "tensor 'w': data_offsets [0, 8] extend past the end of the data section (4 bytes)"},
      {"offsets_overlap",
       image("{" + entry("a", R"("dtype":"F32","shape":[2],"data_offsets":[0,8])") + "," +
                 entry("b", R"("dtype":"F32","shape":[2],"data_offsets":[4,12])") + "}", 12),
       "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
      {"offsets_identical",
       image("{" + entry("a", R"("dtype":"F32","shape":[1],"data_offsets":[0,4])") + "," +
                 entry("b", R"("dtype":"F32","shape":[1],"data_offsets":[0,4])") + "}", 4),
       "tensor 'b': data_offsets [0, 4] overlap tensor 'a' [0, 4]"},
      {"offsets_gap",
       image("{" + entry("a", R"("dtype":"F32","shape":[1],"data_offsets":[0,4])") + "," +
                 entry("b", R"("dtype":"F32","shape":[1],"data_offsets":[8,12])") + "}", 12),
       "data section bytes [4, 8] are not covered by any tensor (gap before tensor 'b')"},
      {"offsets_trailing_bytes",
       image("{" + entry("a", R"("dtype":"F32","shape":[1],"data_offsets":[0,4])") + "}", 8),
       "data section bytes [4, 8] are not covered by any tensor (after the last tensor)"},
      {"no_tensors_but_data", image("{}", 4),
       "data section bytes [0, 4] are not covered by any tensor"},
      {"duplicate_tensor_name",
       image("{" + entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[0,4])") + "," +
                 entry("w", R"("dtype":"F32","shape":[1],"data_offsets":[4,8])") + "}", 8),
       "header has duplicate tensor name 'w'"},
      {"duplicate_field",
       image("{" + entry("w", R"("dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4])") +
                 "}", 4),
       "header has duplicate key 'dtype' inside an entry"},
      {"metadata_not_object", image(R"({"__metadata__":["a"]})", 0),
       "'__metadata__' must be an object of strings"},
      {"metadata_null", image(R"({"__metadata__":null})", 0),
       "'__metadata__' must be an object of strings"},
      {"metadata_value_not_string", image(R"({"__metadata__":{"k":1}})", 0),
       "'__metadata__' must be an object of strings, but key 'k' holds 1"},
  };
  return cases;
}

class SafetensorsMalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(SafetensorsMalformedTest, RefusedNamingFileAndProblem) {
  const MalformedCase& c = GetParam();
  TempDir dir;
  const std::string path = dir.file(std::string(c.name) + ".safetensors");
  write_bytes(path, c.bytes);
  std::string message = error_of([&] { SafetensorsFile::open(path); });
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(c.phrase), std::string::npos)
      << "message: " << message << "\nexpected phrase: " << c.phrase;
}

INSTANTIATE_TEST_SUITE_P(Table, SafetensorsMalformedTest, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SafetensorsMalformedTest, LyingHeaderIsRefusedQuicklyWithoutAllocating) {
  // Shapes claiming 4 TiB and 8 EiB in a file of a hundred bytes.
  const std::string headers[] = {
      "{" + entry("w", R"("dtype":"F32","shape":[1048576,1048576],)"
                       R"("data_offsets":[0,4398046511104])") + "}",
      "{" + entry("w", R"("dtype":"F32","shape":[1073741824,1073741824,2],)"
                       R"("data_offsets":[0,9223372036854775808])") + "}",
  };
  TempDir dir;
  for (const std::string& header : headers) {
    const std::string path = dir.file("lying.safetensors");
    write_bytes(path, image(header, 16));
    auto start = std::chrono::steady_clock::now();
    std::string message = error_of([&] { SafetensorsFile::open(path); });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(message.find("extend past the end of the data section"), std::string::npos)
        << message;
    EXPECT_LT(seconds, 1.0);
  }
}

// --- Writer failures ---------------------------------------------------------------------------

TEST(SafetensorsWriterTest, FailedOverwriteLeavesOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  float old_values[3] = {1, 2, 3};
  write_safetensors(path, {{"old", DType::kF32, {3}, old_values}}, {{"v", "1"}});
  const std::string old_bytes = read_bytes(path);

  float new_values[2] = {4, 5};
  std::string message = error_of([&] {
    write_safetensors(path, {{"a", DType::kF32, {2}, new_values},
                             {"b", DType::kF32, {2}, nullptr}});  // fails after a valid tensor
  });
  EXPECT_NE(message.find(path + ": tensor 'b': data pointer is null"), std::string::npos)
      << message;
  EXPECT_EQ(read_bytes(path), old_bytes);
  SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(std::memcmp(file.data(file.at("old")), old_values, sizeof old_values), 0);
  EXPECT_EQ(dir.n_entries(), 1u) << "a temporary file was left behind";
}

TEST(SafetensorsWriterTest, RefusesBadInput) {
  float values[4] = {};
  const struct { const char* name; std::vector<TensorView> tensors; const char* phrase; } cases[] = {
      {"duplicate", {{"w", DType::kF32, {1}, values}, {"w", DType::kF32, {1}, values}},
       "duplicate tensor name 'w'"},
      {"reserved", {{"__metadata__", DType::kF32, {1}, values}}, "is reserved"},
      {"negative_dim", {{"w", DType::kF32, {2, -1}, values}}, "negative dimension"},
      {"overflow", {{"w", DType::kF32, {int64_t(1) << 62, 8}, values}}, "overflows"},
      {"bad_utf8_name", {{"\xff", DType::kF32, {1}, values}}, "not valid UTF-8"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    std::string path = dir.file(std::string(c.name) + ".safetensors");
    std::string message = error_of([&] { write_safetensors(path, c.tensors); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(c.phrase), std::string::npos) << c.name << ": " << message;
  }
  EXPECT_EQ(dir.n_entries(), 0u);
}

// --- Parity with an independent reader (numpy, and torch when available) ----------------------

// Reads the file by hand (struct + json + numpy.frombuffer) and prints, as JSON, each tensor's
// raw element bits plus numpy's (and torch's) own f32 -> f16 / bf16 rounding of tensor "src".
const char* kPythonReader = R"PY(
import json, struct, sys
import numpy as np
buf = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', buf[:8])
header = json.loads(buf[8:8 + n].decode('utf-8'))
data = buf[8 + n:]
out = {'n_header': n, 'metadata': header.pop('__metadata__', {}), 'tensors': {}}
covered = 0
bits = {'F32': '<u4', 'F16': '<u2', 'BF16': '<u2'}
for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
    begin, end = info['data_offsets']
    assert begin == covered, name
    covered = end
    raw = np.frombuffer(data[begin:end], dtype=bits[info['dtype']])
    raw.reshape(info['shape'])  # the shape must describe the bytes
    out['tensors'][name] = {'dtype': info['dtype'], 'shape': info['shape'],
                            'bits': [int(x) for x in raw.ravel()]}
assert covered == len(data)
b, e = header['src']['data_offsets']
src = np.frombuffer(data[b:e], dtype='<f4')
with np.errstate(over='ignore'):  # 65520 and 1e6 overflow to inf on purpose
    out['numpy_f16'] = [int(x) for x in src.astype(np.float16).view('<u2')]
b, e = header['half']['data_offsets']
half = np.frombuffer(data[b:e], dtype='<f2')
out['numpy_f16_to_f32'] = [int(x) for x in half.astype(np.float32).view('<u4')]
try:
    import torch
    t = torch.tensor(src.copy()).to(torch.bfloat16).view(torch.int16)
    out['torch_bf16'] = [int(x) & 0xFFFF for x in t.tolist()]
except ImportError:
    pass
print(json.dumps(out))
)PY";

std::string run_command(const std::string& command, int* status) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *status = -1;
    return output;
  }
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  *status = ::pclose(pipe);
  return output;
}

TEST(SafetensorsPythonParityTest, NumpyReadsWhatWeWrite) {
  const std::string python = SCULPT_REFERENCE_PYTHON;
  if (python.empty() || ::access(python.c_str(), X_OK) != 0)
    GTEST_SKIP() << "no reference python (SCULPT_REFERENCE_PYTHON='" << python << "')";
  int status = 0;
  run_command("'" + python + "' -c 'import numpy' 2>&1", &status);
  if (status != 0) GTEST_SKIP() << python << " has no numpy (apt-get install python3-numpy)";

  // Finite values and infinities with hand-picked rounding ties, plus a sweep of magnitudes.
  std::vector<float> src = {1.0f, -2.5f, 65504.0f, 65519.0f, 65520.0f, 1e6f, -0.0f,
                            std::numeric_limits<float>::infinity(),
                            1.0f + std::ldexp(1.0f, -11), 1.0f + std::ldexp(3.0f, -11),
                            1.0f + std::ldexp(1.0f, -8), 1.0f + std::ldexp(3.0f, -8),
                            std::ldexp(1.0f, -24), std::ldexp(1.0f, -25), std::ldexp(3.0f, -25),
                            std::ldexp(2047.0f, -25), 0.1f, -3.14159f, 1e-8f};
  for (int e = -30; e <= 20; ++e) src.push_back(std::ldexp(1.2345678f + 0.01f * float(e), e));
  for (int i = 0; i < 200; ++i) src.push_back(float(i) * 0.01037f - 1.0f);
  std::vector<uint16_t> half, brain;
  for (float v : src) {
    half.push_back(f32_to_f16(v));
    brain.push_back(f32_to_bf16(v));
  }
  const int64_t n = int64_t(src.size());
  float mat[6] = {0.5f, -1.0f, 2.0f, 3.25f, -4.5f, 100.0f};
  std::vector<TensorView> views = {{"src", DType::kF32, {n}, src.data()},
                                   {"half", DType::kF16, {n}, half.data()},
                                   {"brain", DType::kBF16, {n}, brain.data()},
                                   {"mat", DType::kF32, {2, 3}, mat},
                                   {"scalar", DType::kBF16, {}, brain.data()},
                                   {"empty", DType::kF16, {0, 3}, nullptr}};
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"sculpt", "test"}};
  TempDir dir;
  const std::string path = dir.file("parity.safetensors");
  const std::string script = dir.file("read.py");
  write_safetensors(path, views, metadata);
  {
    std::ofstream out(script);
    out << kPythonReader;
  }
  const std::string errors = dir.file("stderr.txt");  // warnings must not garble the JSON
  std::string output = run_command(
      "'" + python + "' '" + script + "' '" + path + "' 2>'" + errors + "'", &status);
  ASSERT_EQ(status, 0) << output << read_bytes(errors);
  nlohmann::json result = nlohmann::json::parse(output);
  if (!read_bytes(errors).empty()) std::printf("python stderr:\n%s", read_bytes(errors).c_str());

  EXPECT_EQ(result["n_header"].get<uint64_t>() % 8, 0u);
  using StringMap = std::map<std::string, std::string>;
  EXPECT_EQ(result["metadata"].get<StringMap>(), metadata);
  ASSERT_EQ(result["tensors"].size(), views.size());
  for (const TensorView& view : views) {
    const nlohmann::json& got = result["tensors"][view.name];
    EXPECT_EQ(got["dtype"].get<std::string>(), dtype_name(view.dtype)) << view.name;
    EXPECT_EQ(got["shape"].get<std::vector<int64_t>>(), view.shape) << view.name;
    std::vector<uint32_t> expected;
    for (int64_t i = 0; i < view.numel(); ++i) {
      if (view.dtype == DType::kF32) {
        expected.push_back(float_bits(static_cast<const float*>(view.data)[i]));
      } else {
        expected.push_back(static_cast<const uint16_t*>(view.data)[i]);
      }
    }
    EXPECT_EQ(got["bits"].get<std::vector<uint32_t>>(), expected) << view.name;
  }

  // Our rounding against numpy's (and torch's): count mismatches, print the first.
  auto compare = [](const char* what, const std::vector<uint32_t>& ours,
                    const std::vector<uint32_t>& theirs, const std::vector<float>& inputs) {
    ASSERT_EQ(ours.size(), theirs.size()) << what;
    int n_mismatch = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] == theirs[i]) continue;
      if (n_mismatch++ == 0)
        ADD_FAILURE() << what << ": input " << inputs[i] << " ours 0x" << std::hex << ours[i]
                      << " reference 0x" << theirs[i];
    }
    std::printf("%s: %d mismatches in %zu values\n", what, n_mismatch, ours.size());
  };
  std::vector<uint32_t> our_half(half.begin(), half.end()), our_brain(brain.begin(), brain.end());
  std::vector<uint32_t> our_widened;
  for (uint16_t h : half) our_widened.push_back(float_bits(f16_to_f32(h)));
  compare("f32_to_f16 vs numpy", our_half, result["numpy_f16"].get<std::vector<uint32_t>>(), src);
  compare("f16_to_f32 vs numpy", our_widened,
          result["numpy_f16_to_f32"].get<std::vector<uint32_t>>(), src);
  if (result.contains("torch_bf16")) {
    compare("f32_to_bf16 vs torch", our_brain, result["torch_bf16"].get<std::vector<uint32_t>>(),
            src);
  } else {
    std::printf("torch not importable: bf16 rounding checked only against hand values\n");
  }
}

}  // namespace
}  // namespace sculpt
