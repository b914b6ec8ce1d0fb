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
        BadConfig{R"({"vocab_size": 10})", "required key 'hidden_size' is missing"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 0, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "'hidden_size' must be positive"},
        BadConfig{R"({"vocab_size": "ten", "hidden_size": 8})", "'vocab_size' must be an integer"},
        BadConfig{R"({"model_type": "gpt2"})", "model_type 'gpt2' is not supported (supported: llama, mistral, mixtral, qwen2, qwen3, Dream, llada, sdar, Fast_dLLM_Qwen)"},
        BadConfig{R"({"hidden_act": "gelu", "vocab_size": 10})", "hidden_act 'gelu'"},
        BadConfig{R"({"rope_scaling": {"type": "linear", "factor": 2.0}})", "rope_scaling"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 9, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "not divisible"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 3})", "not a multiple"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "eos_token_id": 10})", "outside the vocabulary"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "sculpt_attention": "block_causal"})", "sculpt_block_size"},
        BadConfig{R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "sculpt_attention": "sideways"})", "unknown attention mode"},
        BadConfig{R"({"vocab_size": 999999999999, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "implausibly large"},
        // The families' keys that would change the computation.
        BadConfig{R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})", "'rope_scaling' of type 'yarn' is not supported (only llama3)"},
        BadConfig{R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}})", "needs 'original_max_position_embeddings'"},
        BadConfig{R"({"rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}, "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "low_freq_factor < high_freq_factor"},
        BadConfig{R"({"mlp_bias": true})", "'mlp_bias' true is not supported"},
        BadConfig{R"({"layer_types": ["full_attention", "sliding_attention"]})", "only full_attention"},
        BadConfig{R"({"model_type": "qwen3", "attention_bias": true, "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "o_proj would carry a bias"},
        BadConfig{R"({"model_type": "Dream", "head_dim": 8, "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "'head_dim' 8 is not supported for Dream"},
        BadConfig{R"({"model_type": "sdar", "block_size": 0, "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2})", "block_causal attention needs"},
        BadConfig{R"({"model_type": "llada", "block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms", "rope": true, "n_heads": 2, "n_layers": 1, "vocab_size": 10})", "required key 'd_model' is missing"},
        BadConfig{R"({"model_type": "llada", "d_model": 8, "n_heads": 2, "n_layers": 1, "vocab_size": 10})", "'block_type' \"sequential\" (its default when absent) is not supported"},
        BadConfig{R"({"model_type": "llada", "block_type": "llama", "activation_type": "swiglu"})", "'activation_type' \"swiglu\" is not supported"},
        BadConfig{R"({"model_type": "llada", "block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms", "rope": true, "include_bias": true})", "'include_bias' true is not supported"},
        BadConfig{R"({"model_type": "llada", "block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms", "rope": true, "d_model": 8, "n_heads": 2, "n_layers": 1, "vocab_size": 10, "embedding_size": 16})", "'embedding_size' 16 differs from 'vocab_size' 10"}));

// The published config.json of each family (shapes as released), read as its code reads it.
const char* kQwen3_0_6B = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
  "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

const char* kLlama3_2_1B = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
  "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
  "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0", "use_cache": true,
  "vocab_size": 128256})";

const char* kDream7B = R"({
  "architectures": ["DreamModel"], "attention_dropout": 0.0,
  "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
  "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 3584, "initializer_range": 0.02,
  "intermediate_size": 18944, "mask_token_id": 151666, "max_position_embeddings": 131072, "max_window_layers": 28,
  "model_type": "Dream", "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
  "pad_token_id": 151643, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.46.2", "use_cache": false,
  "use_sliding_window": false, "vocab_size": 152064})";

const char* kLLaDA8B = R"({
  "activation_type": "silu", "alibi": false, "alibi_bias_max": 8.0, "architectures": ["LLaDAModelLM"],
  "attention_dropout": 0.0, "attention_layer_norm": false, "attention_layer_norm_with_affine": true,
  "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig", "AutoModel": "modeling_llada.LLaDAModelLM",
               "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM"},
  "bias_for_layer_norm": false, "block_group_size": 1, "block_type": "llama", "d_model": 4096, "embedding_dropout": 0.0,
  "embedding_size": 126464, "eos_token_id": 126081, "flash_attention": false, "include_bias": false,
  "include_qkv_bias": false, "init_cutoff_factor": null, "init_device": "meta", "init_fn": "mitchell", "init_std": 0.02,
  "input_emb_norm": false, "layer_norm_type": "rms", "layer_norm_with_affine": true, "mask_token_id": 126336,
  "max_sequence_length": 4096, "mlp_hidden_size": 12288, "mlp_ratio": 4, "model_type": "llada",
  "multi_query_attention": null, "n_heads": 32, "n_kv_heads": 32, "n_layers": 32, "pad_token_id": 126081,
  "precision": "amp_bf16", "residual_dropout": 0.0, "rms_norm_eps": 1e-05, "rope": true, "rope_full_precision": true,
  "rope_theta": 500000.0, "scale_logits": false, "torch_dtype": "bfloat16", "transformers_version": "4.46.3",
  "use_cache": false, "vocab_size": 126464, "weight_tying": false})";

const char* kSDAR1_7B = R"({
  "architectures": ["SDARForCausalLM"],
  "auto_map": {"AutoConfig": "configuration_sdar.SDARConfig", "AutoModel": "modeling_sdar.SDARModel",
               "AutoModelForCausalLM": "modeling_sdar.SDARForCausalLM"},
  "attention_bias": false, "attention_dropout": 0.0, "attn_implementation": "flex_attention", "bos_token_id": 151643,
  "eos_token_id": 151643, "block_size": 4, "mask_token_id": 151669, "debug": false, "ep_size": 1,
  "fuse_cross_entropy": true, "head_dim": 128, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 6144, "max_position_embeddings": 32768, "max_window_layers": 28, "micro_forward": false,
  "model_type": "sdar", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "skip_checkpoint": false, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.52.4", "use_cache": false,
  "use_deepep": false, "use_sliding_window": false, "vocab_size": 151936})";

const char* kFastDllmV2_7B = R"({
  "architectures": ["Fast_dLLM_QwenForCausalLM"], "attention_dropout": 0.0,
  "auto_map": {"AutoConfig": "configuration.Fast_dLLM_QwenConfig", "AutoModelForCausalLM": "modeling.Fast_dLLM_QwenForCausalLM"},
  "bd_size": 32, "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 3584,
  "initializer_range": 0.02, "intermediate_size": 18944, "max_position_embeddings": 32768, "max_window_layers": 28,
  "model_type": "Fast_dLLM_Qwen", "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.53.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 152064})";

TEST(ModelFamilyConfigTest, Qwen3HasItsOwnHeadDimAndQkNorms) {
  const ModelConfig c = parse_model_config(kQwen3_0_6B, "config.json");
  EXPECT_TRUE(c.family().qk_norm);
  EXPECT_EQ(c.n_head_dim(), 128);  // not 1024 / 16
  EXPECT_EQ(c.rope_theta, 1e6);    // an integer in the file
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.n_params(), 596049920);  // the model card's 0.6B, 0.44B of them outside the embeddings
}

TEST(ModelFamilyConfigTest, Llama3ReadsItsRopeScaling) {
  const ModelConfig c = parse_model_config(kLlama3_2_1B, "config.json");
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.n_params(), 1235814400);  // Llama 3.2 1B (tied)
  // transformers' older spelling ("type"), and its rope_parameters of version 5.
  std::string old = kLlama3_2_1B;
  old.replace(old.find("\"rope_type\""), 11, "\"type\"");
  EXPECT_EQ(parse_model_config(old, "old").rope_scaling.factor, 32.0);
  const ModelConfig v5 = parse_model_config(
      R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
          "rope_parameters": {"rope_type": "default", "rope_theta": 250000.0}})", "v5");
  EXPECT_EQ(v5.rope_theta, 250000.0);
  EXPECT_EQ(v5.rope_scaling.type, RopeScalingType::kNone);
}

TEST(ModelFamilyConfigTest, DreamIsABidirectionalShiftedQwen2) {
  const ModelConfig c = parse_model_config(kDream7B, "config.json");
  EXPECT_EQ(c.attention, AttentionMode::kBidirectional);
  EXPECT_EQ(c.logits_alignment, LogitsAlignment::kShifted);
  EXPECT_EQ(c.mask_token_id, 151666);
  EXPECT_TRUE(c.attention_bias);  // Qwen2's q/k/v biases, though the config does not say so
  EXPECT_EQ(c.n_head_dim(), 128);
}

TEST(ModelFamilyConfigTest, LladaReadsItsOwnKeys) {
  const ModelConfig c = parse_model_config(kLLaDA8B, "config.json");
  EXPECT_TRUE(c.family().llada_layout);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 12288);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.n_kv_heads(), 32);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.mask_token_id, 126336);
  EXPECT_EQ(c.eos_token_id, 126081);
  EXPECT_EQ(c.attention, AttentionMode::kBidirectional);
  EXPECT_EQ(c.logits_alignment, LogitsAlignment::kUnshifted);
  EXPECT_EQ(c.n_params(), 8015581184);  // "LLaDA 8B"
}

TEST(ModelFamilyConfigTest, BlockDiffusionFamiliesTakeTheirBlockSize) {
  const ModelConfig sdar = parse_model_config(kSDAR1_7B, "config.json");
  EXPECT_EQ(sdar.attention, AttentionMode::kBlockCausal);
  EXPECT_EQ(sdar.block_size, 4);
  EXPECT_EQ(sdar.logits_alignment, LogitsAlignment::kUnshifted);
  EXPECT_TRUE(sdar.family().qk_norm);
  EXPECT_EQ(sdar.mask_token_id, 151669);
  const ModelConfig fast = parse_model_config(kFastDllmV2_7B, "config.json");
  EXPECT_EQ(fast.attention, AttentionMode::kBlockCausal);
  EXPECT_EQ(fast.block_size, 32);
  EXPECT_EQ(fast.logits_alignment, LogitsAlignment::kShifted);
  EXPECT_TRUE(fast.attention_bias);
  EXPECT_EQ(fast.mask_token_id, -1);  // from the tokenizer
  // Without the key, the block size of the family's generation code.
  std::string no_block = kSDAR1_7B;
  no_block.replace(no_block.find("\"block_size\": 4,"), 16, "");
  EXPECT_EQ(parse_model_config(no_block, "config.json").block_size, 4);
}

TEST(ModelFamilyConfigTest, SculptKeysOverrideTheFamily) {
  std::string json = kDream7B;
  json.insert(1, R"("sculpt_attention": "block_causal", "sculpt_block_size": 8, "sculpt_logits_alignment": "unshifted", )");
  const ModelConfig c = parse_model_config(json, "config.json");
  EXPECT_EQ(c.attention, AttentionMode::kBlockCausal);
  EXPECT_EQ(c.block_size, 8);
  EXPECT_EQ(c.logits_alignment, LogitsAlignment::kUnshifted);
}

TEST(ModelFamilyConfigTest, EachFamilyRoundTripsInItsOwnKeys) {
  for (const char* text : {kQwen3_0_6B, kLlama3_2_1B, kDream7B, kLLaDA8B, kSDAR1_7B, kFastDllmV2_7B}) {
    const ModelConfig c = parse_model_config(text, "config.json");
    const std::string written = model_config_to_json(c);
    const ModelConfig back = parse_model_config(written, "round trip");
    EXPECT_EQ(model_config_to_json(back), written);
    EXPECT_EQ(back.model_type, c.model_type);
    EXPECT_EQ(back.n_params(), c.n_params()) << c.model_type;
    EXPECT_THAT(written, HasSubstr(c.family().architecture));
  }
  EXPECT_THAT(model_config_to_json(parse_model_config(kLLaDA8B, "c")), HasSubstr("\"d_model\": 4096"));
  EXPECT_THAT(model_config_to_json(parse_model_config(kFastDllmV2_7B, "c")), HasSubstr("\"bd_size\": 32"));
  EXPECT_THAT(model_config_to_json(parse_model_config(kLlama3_2_1B, "c")), HasSubstr("\"rope_type\": \"llama3\""));
}

TEST(ModelConfigTest, BaseOfErrorTableIsValid) {
  EXPECT_NO_THROW(parse_model_config(std::string("{") + kBase + "}", "base"));
}

}  // namespace
}  // namespace sculpt
