// ModelConfig <-> Hugging Face config.json.
#include "core/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

const char* kLlamaJson = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000,
  "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
  "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 4096,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "hidden_act": "silu", "rope_scaling": null,
  "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": [2, 7], "torch_dtype": "bfloat16",
  "initializer_range": 0.02, "use_cache": true})";

TEST(ModelConfigTest, ParsesLlamaConfigJson) {
  ModelConfig c = parse_model_config(kLlamaJson, "config.json");
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.n_kv_heads(), 8);
  EXPECT_EQ(c.n_head_dim(), 128);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.eos_token_id, 2);  // first of a list
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.attention, AttentionMode::kCausal);
  // Llama-2-7B's published parameter count with GQA 8 differs; check the MHA 7B figure instead.
  ModelConfig mha = c;
  mha.num_key_value_heads = 32;
  EXPECT_EQ(mha.n_params(), 6738415616);
}

TEST(ModelConfigTest, JsonRoundTrip) {
  ModelConfig c = parse_model_config(kLlamaJson, "config.json");
  c.attention = AttentionMode::kBlockCausal;
  c.block_size = 32;
  c.mask_token_id = 3;
  ModelConfig back = parse_model_config(model_config_to_json(c), "round trip");
  EXPECT_EQ(model_config_to_json(back), model_config_to_json(c));
  EXPECT_EQ(back.attention, AttentionMode::kBlockCausal);
  EXPECT_EQ(back.block_size, 32);
  EXPECT_EQ(back.mask_token_id, 3);
}

struct BadConfig {
  const char* json;
  const char* message;
};

class ModelConfigErrorTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ModelConfigErrorTest, RefusedWithMessage) {
  try {
    parse_model_config(GetParam().json, "dir/config.json");
    FAIL() << "accepted: " << GetParam().json;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("dir/config.json"));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
  }
}

const char* kBase = R"("vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2)";

INSTANTIATE_TEST_SUITE_P(
    Table, ModelConfigErrorTest,
    ::testing::Values(
        BadConfig{"{", "not valid JSON"},
        BadConfig{"[1, 2]", "JSON object"},
        BadConfig{R"({"vocab_size": 10})", "'hidden_size' must be positive"},
        BadConfig{R"({"vocab_size": "ten", "hidden_size": 8})", "'vocab_size' must be an integer"},
        BadConfig{R"({"model_type": "gpt2"})", "not a Llama-family"},
        BadConfig{R"({"hidden_act": "gelu", "vocab_size": 10})", "hidden_act 'gelu'"},
        BadConfig{R"({"rope_scaling": {"type": "linear", "factor": 2.0}})", "rope_scaling"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 9, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "not divisible"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 3})", "not a multiple"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "eos_token_id": 10})", "outside the vocabulary"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "sculpt_attention": "block_causal"})", "sculpt_block_size"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "sculpt_attention": "sideways"})", "unknown attention mode"},
        BadConfig{R"({"vocab_size": 999999999999, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "implausibly large"}));

TEST(ModelConfigTest, BaseOfErrorTableIsValid) {
  EXPECT_NO_THROW(parse_model_config(std::string("{") + kBase + "}", "base"));
}

}  // namespace
}  // namespace sculpt
