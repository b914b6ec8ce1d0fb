// core/memory_guard: allocations that cannot fit are refused with a clear error, before they
// are made: the key/value cache, attention scores over a long input, and the check itself.
#include "core/memory_guard.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/kv_cache.h"
#include "core/transformer.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

TEST(MemoryGuard, AvailableMemoryIsReadAndBounded) {
  const int64_t available = available_memory_bytes();
  ASSERT_GT(available, int64_t(16) << 20);
  EXPECT_LT(available, int64_t(1) << 50);
}

TEST(MemoryGuard, RefusesWhatCannotFitAndNamesIt) {
  EXPECT_NO_THROW(check_memory("small", int64_t(1) << 20, "never shown"));
  const std::string m = testing::error_message([] { check_memory("canvas", int64_t(1) << 52, "write fewer tokens"); });
  EXPECT_NE(m.find("canvas: needs 4194304.00 GiB but only "), std::string::npos) << m;
  EXPECT_NE(m.find("write fewer tokens"), std::string::npos) << m;
}

TEST(MemoryGuard, AHugeKvCacheIsRefusedBeforeAllocation) {
  // 32 layers x 64 sequences x 8 kv heads x 131,072 tokens x 128 dims x 2 x 4 bytes = 2 TiB.
  const std::string m = testing::error_message([] { KvCache cache(32, 64, 8, 131072, 128); });
  EXPECT_NE(m.find("kv cache: needs 2048.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("64 sequences of 131072 tokens"), std::string::npos) << m;
}

TEST(MemoryGuard, AttentionOverAHugeInputIsRefusedBeforeAllocation) {
  ModelConfig c = testing::small_model_config(64);
  c.max_position_embeddings = 1 << 20;
  c.attention = AttentionMode::kBidirectional;
  Transformer model(c);
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::zeros({1, 400000}, at::kLong);  // scores: 2 x 4 heads x 400k x 400k x 4 bytes
  const std::string m = testing::error_message([&] { model->forward(tokens); });
  EXPECT_NE(m.find("attention: needs"), std::string::npos) << m;
  EXPECT_NE(m.find("400000 x 400000 positions"), std::string::npos) << m;
}

}  // namespace
}  // namespace sculpt
