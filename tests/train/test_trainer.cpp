// Tests of the trainer (train/trainer.h): the learning-rate schedule's exact values, that a tiny
// model learns a tiny generated corpus beyond its unigram entropy, that a resumed run continues
// the straight one exactly, that checkpoints load, and that bad configs give clear errors.
#include "train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "train/lora_adapter.h"
#include "train/tokenizer_training.h"
#include "train/token_shards.h"
#include "train/train_config.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using sculpt::testing::TempDir;

using sculpt::testing::write_file;

using sculpt::testing::make_document;

TEST(LearningRateTest, WarmsUpLinearlyThenDecaysByCosine) {
  TrainParams p;
  p.lr = 1.0;
  p.min_lr = 0.1;
  p.warmup_steps = 4;
  p.max_steps = 14;
  EXPECT_DOUBLE_EQ(learning_rate(0, p), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate(1, p), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(3, p), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(4, p), 1.0);                 // t = 0
  EXPECT_NEAR(learning_rate(9, p), 0.55, 1e-15);              // t = 1/2: midway
  EXPECT_NEAR(learning_rate(6, p), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.2)), 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate(14, p), 0.1);                // at and past max_steps
  EXPECT_DOUBLE_EQ(learning_rate(100, p), 0.1);
  p.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(learning_rate(0, p), 1.0);
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sculpt_trainer");
    std::string text;
    for (uint32_t i = 0; i < 200; ++i) {
      const std::string doc = make_document(i, /*n_sentences=*/6);
      write_file(dir_->file("corpus/doc_" + std::to_string(1000 + i) + ".txt"), doc);
      text += doc + "\n";
    }
    write_file(dir_->file("tok.txt"), text);
    TokenizerTrainParams params;
    params.input_files = {dir_->file("tok.txt")};
    params.model_prefix = dir_->file("tok");
    params.vocab_size = 300;
    params.n_threads = 2;
    train_tokenizer(params);
  }
  static void TearDownTestSuite() { delete dir_; }

  // A tiny causal model (hidden 32, 2 layers) on the generated corpus.
  TrainConfig config(const std::string& out_name, int64_t max_steps) const {
    TrainConfig cfg;
    cfg.model.hidden_size = 32;
    cfg.model.intermediate_size = 64;
    cfg.model.num_hidden_layers = 2;
    cfg.model.num_attention_heads = 4;
    cfg.model.num_key_value_heads = 2;
    cfg.model.max_position_embeddings = 64;
    cfg.runtime.seed = 7;
    cfg.runtime.n_threads = 2;
    cfg.data.corpus = dir_->file("corpus");
    cfg.data.validation_fraction = 0.1;
    cfg.data.seq_len = 32;
    cfg.train.out_dir = out_.file(out_name);
    cfg.train.tokenizer = dir_->file("tok.model");
    cfg.train.batch_size = 8;
    cfg.train.grad_accum = 2;
    cfg.train.lr = 1e-2;
    cfg.train.min_lr = 1e-3;
    cfg.train.warmup_steps = 10;
    cfg.train.max_steps = max_steps;
    cfg.train.eval_every = 0;
    cfg.train.save_every = 0;
    cfg.train.log_every = 50;
    return cfg;
  }
  // Unigram entropy (nats) of a shard's tokens: the loss of the best context-free model.
  static double unigram_entropy(const TokenShard& shard) {
    std::map<int64_t, double> counts;
    for (int64_t i = 0; i < shard.n_tokens(); ++i) counts[shard.token(i)] += 1;
    double entropy = 0;
    for (const auto& [id, c] : counts) {
      const double q = c / double(shard.n_tokens());
      entropy -= q * std::log(q);
    }
    return entropy;
  }
  // Trains `straight` in one run and `split` in two (stopping after stop_at steps, then
  // resuming); returns the largest difference between the two loss curves.
  double resumed_loss_difference(const TrainConfig& straight, const TrainConfig& split, int64_t stop_at) {
    const TrainResult whole = train(straight, quiet());
    const TrainResult first = train(split, quiet(/*resume=*/false, stop_at));
    EXPECT_EQ(first.last_step, stop_at);
    const TrainResult second = train(split, quiet(/*resume=*/true));
    EXPECT_EQ(second.first_step, stop_at);
    EXPECT_EQ(second.last_step, split.train.max_steps);
    std::vector<double> joined = first.losses;
    joined.insert(joined.end(), second.losses.begin(), second.losses.end());
    EXPECT_EQ(joined.size(), whole.losses.size());
    double max_diff = 0;
    for (size_t i = 0; i < std::min(joined.size(), whole.losses.size()); ++i)
      max_diff = std::max(max_diff, std::abs(joined[i] - whole.losses[i]));
    std::printf("max |straight - resumed| loss difference: %g\n", max_diff);
    return max_diff;
  }
  TrainOptions quiet(bool resume = false, int64_t stop_at = 0) {
    TrainOptions o;
    o.resume = resume;
    o.stop_at_step = stop_at;
    o.log = &log_;
    return o;
  }

  static TempDir* dir_;
  TempDir out_{"sculpt_trainer_out"};
  std::ostringstream log_;
};
TempDir* TrainerTest::dir_ = nullptr;

TEST_F(TrainerTest, LearnsBeyondUnigramEntropy) {
  TrainConfig cfg = config("model", 120);
  cfg.train.grad_accum = 1;
  const TrainResult r = train(cfg, quiet());
  ASSERT_EQ(r.last_step, 120);
  ASSERT_EQ(r.losses.size(), 120u);

  const TokenShard shard = TokenShard::open(build_shards(cfg.data, Tokenizer::load(cfg.train.tokenizer),
                                                         cfg.train.tokenizer).train);
  const double entropy = unigram_entropy(shard);
  std::printf("unigram entropy %.3f nats, first loss %.3f, validation loss %.3f\n", entropy, r.losses.front(),
              r.valid_loss);
  ASSERT_GT(r.valid_loss, 0);
  EXPECT_LT(r.valid_loss, entropy - 1.0);
  EXPECT_THAT(log_.str(), HasSubstr("eval step 120: loss"));
}

TEST_F(TrainerTest, ResumeContinuesTheStraightRun) {
  EXPECT_LT(resumed_loss_difference(config("straight", 20), config("split", 20), /*stop_at=*/10), 1e-5);
}

TEST_F(TrainerTest, DropoutChangesTrainingAndResumesExactly) {
  TrainConfig dropped = config("dropped", 12), straight = config("straight", 12), split = config("split", 12);
  dropped.train.dropout = straight.train.dropout = split.train.dropout = 0.2;
  const double without = train(config("plain", 12), quiet()).losses.front();
  const double with = train(dropped, quiet()).losses.front();
  EXPECT_GT(std::abs(with - without), 1e-4);  // the masks reach the model
  EXPECT_LT(resumed_loss_difference(straight, split, /*stop_at=*/6), 1e-5);
}

// A run interrupted before its first checkpoint leaves only a log; starting afresh replaces it,
// resuming appends to it.
TEST_F(TrainerTest, FreshRunReplacesAStaleLogAndResumeAppends) {
  TrainConfig cfg = config("stale_log", 4);
  cfg.train.log_every = 2;
  cfg.train.save_every = 2;
  fs::create_directories(cfg.train.out_dir);
  const std::string log_path = cfg.train.out_dir + "/train_log.jsonl";
  write_file(log_path, "{\"elapsed_s\":999,\"step\":50,\"stale\":true}\n");
  train(cfg, quiet(/*resume=*/false, /*stop_at=*/2));
  EXPECT_THAT(read_file(log_path), Not(HasSubstr("stale")));
  train(cfg, quiet(/*resume=*/true));
  std::vector<int64_t> steps;
  std::istringstream lines(read_file(log_path));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (!record.contains("tok_per_s")) continue;  // training records, not evals
    steps.push_back(record.at("step"));
    const double grad_norm = record.at("grad_norm");  // before clipping
    EXPECT_TRUE(std::isfinite(grad_norm) && grad_norm > 0) << line;
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4}));
}

TEST_F(TrainerTest, CheckpointIsAModelDirectory) {
  TrainConfig cfg = config("ckpt", 6);
  cfg.train.save_every = 3;
  train(cfg, quiet());
  const std::string out = cfg.train.out_dir;
  Transformer model = load_transformer(out);
  EXPECT_EQ(model->config().hidden_size, 32);
  Transformer state_model = load_transformer(out + "/trainer_state");
  for (const char* f : {"tokenizer.model", "trainer_state/optimizer.pt", "trainer_state/state.json", "train_log.jsonl"})
    EXPECT_TRUE(file_exists(out + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(out + "/checkpoint-tmp"));
  // The live model and the resumable state hold the same weights.
  auto a = model->named_parameters(), b = state_model->named_parameters();
  for (auto& item : a) EXPECT_TRUE(item.value().equal(b[item.key()])) << item.key();

  // A second fresh run into the same directory is refused; resume past max_steps does nothing.
  EXPECT_THAT([&] { train(cfg, quiet()); }, ::testing::ThrowsMessage<Error>(HasSubstr("--resume")));
  EXPECT_EQ(train(cfg, quiet(/*resume=*/true)).last_step, 6);
}

// The masked-diffusion objective on the same data: the validation bound drops below the
// unigram entropy, resume is bit-for-bit, and a drafter's weights can start it (adaptation).
TrainConfig diffusion_config(TrainConfig cfg) {
  cfg.model.attention = AttentionMode::kBidirectional;
  cfg.train.objective = TrainObjective::kMaskedDiffusion;
  cfg.train.diffusion.visible_noise = 0.1;
  cfg.train.diffusion.prompt_prob = 0.2;
  return cfg;
}

TEST_F(TrainerTest, MaskedDiffusionBoundFallsBelowUnigramEntropy) {
  TrainConfig cfg = diffusion_config(config("mdm", 400));
  cfg.train.grad_accum = 1;
  const TrainResult r = train(cfg, quiet());
  const TokenShard shard = TokenShard::open(build_shards(cfg.data, Tokenizer::load(cfg.train.tokenizer),
                                                         cfg.train.tokenizer).train);
  const double entropy = unigram_entropy(shard);
  std::printf("unigram entropy %.3f nats, masked-diffusion validation bound %.3f\n", entropy, r.valid_loss);
  ASSERT_GT(r.valid_loss, 0);
  EXPECT_LT(r.valid_loss, entropy - 0.5);
  const Transformer model = load_transformer(cfg.train.out_dir);
  EXPECT_EQ(model->config().attention, AttentionMode::kBidirectional);
  EXPECT_EQ(model->config().mask_token_id, Tokenizer::load(cfg.train.tokenizer).mask_id());
}

TEST_F(TrainerTest, MaskedDiffusionResumeContinuesTheStraightRun) {
  EXPECT_LT(resumed_loss_difference(diffusion_config(config("mdm_straight", 12)), diffusion_config(config("mdm_split", 12)),
                                    /*stop_at=*/5),
            1e-5);
}

TEST_F(TrainerTest, MaskedDiffusionAdaptsADrafter) {
  TrainConfig drafter = config("adapt_drafter", 4);
  train(drafter, quiet());
  TrainConfig cfg = diffusion_config(config("adapt_refiner", 2));
  cfg.train.init_from = drafter.train.out_dir;
  cfg.model.logits_alignment = LogitsAlignment::kShifted;
  cfg.model.hidden_size = 999;  // ignored: the architecture comes from init_from
  cfg.model.max_position_embeddings = 3 * drafter.model.max_position_embeddings;  // the refiner's own context
  const TrainResult r = train(cfg, quiet());
  EXPECT_EQ(r.last_step, 2);
  const Transformer model = load_transformer(cfg.train.out_dir);
  EXPECT_EQ(model->config().hidden_size, 32);
  EXPECT_EQ(model->config().max_position_embeddings, 3 * drafter.model.max_position_embeddings);
  EXPECT_EQ(model->config().attention, AttentionMode::kBidirectional);
  EXPECT_EQ(model->config().logits_alignment, LogitsAlignment::kShifted);
  EXPECT_GE(model->config().mask_token_id, 0);

  // Fast-dLLM v2's recipe: a drafter adapted into a block-causal refiner that keeps its shifted head.
  TrainConfig blocks = diffusion_config(config("adapt_blocks", 2));
  blocks.train.init_from = drafter.train.out_dir;
  blocks.model.attention = AttentionMode::kBlockCausal;
  blocks.model.block_size = 8;
  blocks.model.logits_alignment = LogitsAlignment::kShifted;
  EXPECT_EQ(train(blocks, quiet()).last_step, 2);
  const Transformer block_model = load_transformer(blocks.train.out_dir);
  EXPECT_EQ(block_model->config().attention, AttentionMode::kBlockCausal);
  EXPECT_EQ(block_model->config().block_size, 8);
  EXPECT_EQ(block_model->config().logits_alignment, LogitsAlignment::kShifted);

  TrainConfig causal = config("adapt_causal", 2);
  causal.train.objective = TrainObjective::kMaskedDiffusion;
  causal.train.init_from = drafter.train.out_dir;
  EXPECT_THAT([&] { train(causal, quiet()); }, ::testing::ThrowsMessage<Error>(HasSubstr("bidirectional or block_causal")));
}

// LoRA fine-tuning (TrainOptions::finetune): only the adapter changes, out_dir is a PEFT adapter
// folder, resume continues the straight run, and either objective works.
TEST_F(TrainerTest, FinetuneTrainsOnlyTheAdapterAndResumes) {
  TrainConfig base = config("ft_base", 30);
  const double base_loss = train(base, quiet()).valid_loss;
  const std::string base_weights = read_file(base.train.out_dir + "/model.safetensors");
  auto finetune = [&](const std::string& name, int64_t max_steps) {
    TrainConfig cfg = config(name, max_steps);
    cfg.train.init_from = base.train.out_dir;
    cfg.train.lr = 1e-2;
    cfg.train.warmup_steps = 2;
    cfg.train.save_every = 4;
    cfg.lora.rank = 4;
    cfg.lora.dropout = 0;  // resume is compared bit for bit; dropout draws from the global generator
    cfg.lora.target_modules = {"q_proj", "v_proj", "down_proj"};
    return cfg;
  };
  auto options = [&](bool resume, int64_t stop_at) {
    TrainOptions o = quiet(resume, stop_at);
    o.finetune = true;
    return o;
  };
  const TrainConfig straight = finetune("ft_straight", 10), split = finetune("ft_split", 10);
  const TrainResult whole = train(straight, options(false, 0));
  const TrainResult first = train(split, options(false, 4));
  const TrainResult second = train(split, options(true, 0));
  EXPECT_EQ(second.first_step, 4);
  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), second.losses.begin(), second.losses.end());
  ASSERT_EQ(joined.size(), whole.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_NEAR(joined[i], whole.losses[i], 1e-5) << i;
  std::printf("validation loss: base %.4f, after 10 LoRA steps %.4f\n", base_loss, whole.valid_loss);
  EXPECT_LT(whole.valid_loss, base_loss - 0.01);
  EXPECT_THAT(log_.str(), HasSubstr("[lora] 6 layers, rank 4"));

  // The base is untouched; out_dir is an adapter folder that changes the base's output.
  EXPECT_EQ(read_file(base.train.out_dir + "/model.safetensors"), base_weights);
  const std::string out = straight.train.out_dir;
  EXPECT_TRUE(file_exists(out + "/adapter_config.json"));
  EXPECT_FALSE(file_exists(out + "/model.safetensors"));
  {
    Transformer model = load_transformer(base.train.out_dir);
    const at::Tensor x = at::randint(0, 300, {1, 16}, at::kLong);
    at::NoGradGuard no_grad;
    const at::Tensor before = model->forward(x);
    LoraAdapter adapter = LoraAdapter::load(*model, out);
    EXPECT_EQ(adapter.layer_names().size(), 6u);
    EXPECT_FALSE(model->forward(x).equal(before));
  }

  // The masked-diffusion objective on a refiner, with dropout.
  TrainConfig refiner = diffusion_config(config("ft_refiner_base", 4));
  train(refiner, quiet());
  TrainConfig mdm = finetune("ft_refiner", 3);
  mdm.train.objective = TrainObjective::kMaskedDiffusion;
  mdm.train.init_from = refiner.train.out_dir;
  mdm.lora.dropout = 0.1;
  mdm.lora.target_modules = {"all-linear"};
  const TrainResult r = train(mdm, options(false, 0));
  EXPECT_EQ(r.last_step, 3);
  EXPECT_TRUE(std::isfinite(r.losses.back()));

  TrainConfig no_base = finetune("ft_no_base", 2);
  no_base.train.init_from = "";
  EXPECT_THAT([&] { train(no_base, options(false, 0)); }, ::testing::ThrowsMessage<Error>(HasSubstr("train.init_from")));
  TrainConfig no_match = finetune("ft_no_match", 2);
  no_match.lora.target_modules = {"c_attn"};
  EXPECT_THAT([&] { train(no_match, options(false, 0)); },
              ::testing::ThrowsMessage<Error>(HasSubstr("lora.target_modules: [c_attn] match no linear layer")));
}

TEST_F(TrainerTest, BadConfigsGiveClearErrors) {
  TrainConfig cfg = config("bad", 5);
  cfg.train.tokenizer = dir_->file("missing.model");
  EXPECT_THAT([&] { train(cfg, quiet()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("train.tokenizer: no such file")));
  cfg = config("bad", 5);
  EXPECT_THAT([&] { train(cfg, quiet(/*resume=*/true)); }, ::testing::ThrowsMessage<Error>(HasSubstr("resume")));
  cfg = config("bad", 5);
  cfg.train.lr = 1e-4;
  cfg.train.min_lr = 1e-3;
  EXPECT_THAT([&] { train(cfg, quiet()); }, ::testing::ThrowsMessage<Error>(HasSubstr("train.min_lr")));
  cfg = config("bad", 5);
  cfg.data.corpus = "";
  EXPECT_THAT([&] { train(cfg, quiet()); }, ::testing::ThrowsMessage<Error>(HasSubstr("data.corpus")));
  cfg = config("bad", 0);
  cfg.train.max_steps = 0;
  EXPECT_THAT([&] { train(cfg, quiet()); }, ::testing::ThrowsMessage<Error>(HasSubstr("train.max_steps")));
}

}  // namespace
}  // namespace sculpt
