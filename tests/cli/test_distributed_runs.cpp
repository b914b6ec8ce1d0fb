// Multi-process runs through the sculpt binary: data-parallel training against one process
// (both objectives, gradient accumulation, a resume in the middle), a rank killed mid-run with
// and without `sculpt launch`, and batch generation sharded over ranks and resumed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/checkpoint.h"
#include "core/transformer.h"
#include "support/tiny_pipeline.h"

namespace sculpt {
namespace {

using testing::TempDir;

const std::string kSculpt = std::string(SCULPT_BINARY_DIR) + "/sculpt";

std::string q(const std::string& s) { return "'" + s + "'"; }

// A config for `sculpt train` on <dir>/corpus with <dir>/tok.model.
std::string write_train_config(const TempDir& dir, const std::string& name, bool diffusion, int max_steps) {
  const std::string path = dir.file(name + ".yaml");
  testing::write_file(path,
      "model: {hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,\n"
      "        num_key_value_heads: 2, max_position_embeddings: 64, attention: " +
          std::string(diffusion ? "bidirectional" : "causal") + "}\n"
      "runtime: {seed: 5, n_threads: 1}\n"
      "data: {corpus: " + dir.file("corpus") + ", validation_fraction: 0.1, seq_len: 32}\n"
      "train:\n  tokenizer: " + dir.file("tok.model") + "\n  objective: " +
          (diffusion ? "masked_diffusion\n  diffusion: {visible_noise: 0.1, prompt_prob: 0.2}" : "next_token") +
          "\n  batch_size: 8\n  grad_accum: 2\n  lr: 1.0e-2\n  min_lr: 1.0e-3\n  warmup_steps: 3\n"
          "  max_steps: " + std::to_string(max_steps) + "\n  eval_every: 6\n  eval_batches: 3\n  save_every: 3\n  log_every: 1\n");
  return path;
}

struct TrainLog {
  std::vector<double> losses, eval_losses;
};

TrainLog read_train_log(const std::string& path) {
  TrainLog log;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json r = nlohmann::json::parse(line);
    if (r.contains("loss")) log.losses.push_back(r["loss"].get<double>());
    if (r.contains("eval_loss")) log.eval_losses.push_back(r["eval_loss"].get<double>());
  }
  return log;
}

double max_weight_difference(const std::string& a, const std::string& b) {
  Transformer ma = load_transformer(a), mb = load_transformer(b);
  auto pa = ma->named_parameters(), pb = mb->named_parameters();
  double worst = 0;
  for (const auto& item : pa) worst = std::max(worst, (item.value() - pb[item.key()]).abs().max().item<double>());
  return worst;
}

class DistributedRuns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::make_template_corpus(*dir_, 120);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* DistributedRuns::dir_ = nullptr;

// Two ranks (stopped at step 6 and resumed) against one process with the same global batch:
// the same loss at every step and the same weights, up to floating-point reduction order.
void expect_two_ranks_match_one(const TempDir& dir, bool diffusion) {
  const std::string name = diffusion ? "refiner" : "drafter";
  const std::string cfg = write_train_config(dir, name, diffusion, 12);
  std::string out;
  ASSERT_EQ(testing::run_command(kSculpt + " train --config " + q(cfg) + " --set train.out_dir=" + dir.file(name + "-one"), &out), 0) << out;
  const std::string two = dir.file(name + "-two");
  const std::string launch = kSculpt + " launch --nproc 2 -- sculpt train --config " + q(cfg) + " --set train.out_dir=" + two;
  ASSERT_EQ(testing::run_command(launch + " --stop-at-step 6", &out), 0) << out;
  ASSERT_EQ(testing::run_command(launch + " --resume", &out), 0) << out;

  const TrainLog a = read_train_log(dir.file(name + "-one/train_log.jsonl"));
  const TrainLog b = read_train_log(two + "/train_log.jsonl");
  ASSERT_EQ(a.losses.size(), 12u);
  ASSERT_EQ(b.losses.size(), 12u);
  for (size_t i = 0; i < a.losses.size(); ++i) EXPECT_NEAR(a.losses[i], b.losses[i], 1e-4 * a.losses[i]) << "step " << i + 1;
  ASSERT_EQ(a.eval_losses.size(), b.eval_losses.size());
  for (size_t i = 0; i < a.eval_losses.size(); ++i) EXPECT_NEAR(a.eval_losses[i], b.eval_losses[i], 1e-4 * a.eval_losses[i]);
  EXPECT_LT(a.losses.back(), a.losses.front());  // it did train
  EXPECT_LT(max_weight_difference(dir.file(name + "-one"), two), 1e-4);
}

TEST_F(DistributedRuns, NextTokenTrainingOnTwoRanksMatchesOneProcess) { expect_two_ranks_match_one(*dir_, false); }

TEST_F(DistributedRuns, MaskedDiffusionTrainingOnTwoRanksMatchesOneProcess) { expect_two_ranks_match_one(*dir_, true); }

TEST_F(DistributedRuns, BatchSizeMustSplitOverTheRanks) {
  const std::string cfg = write_train_config(*dir_, "odd", false, 4);
  std::string out;
  EXPECT_NE(testing::run_command(kSculpt + " launch --nproc 2 -- sculpt train --config " + q(cfg) +
                                     " --set train.batch_size=7 --set train.out_dir=" + dir_->file("odd"), &out), 0);
  EXPECT_NE(out.find("train.batch_size"), std::string::npos) << out;
  EXPECT_NE(out.find("multiple of the number of processes"), std::string::npos) << out;
}

// Starts `command` under /bin/sh in the background.
pid_t spawn(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` up to `limit_s`; its exit status (128 + signal when killed), or -1 on timeout.
int wait_for(pid_t pid, double limit_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(limit_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

bool wait_for_file(const std::string& path, double limit_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(limit_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_F(DistributedRuns, KilledRankStopsTheLauncherAndTheCheckpointSurvives) {
  const std::string cfg = write_train_config(*dir_, "long", false, 100000);
  const std::string out_dir = dir_->file("long"), err = dir_->file("long.err");
  const pid_t launcher = spawn(kSculpt + " launch --nproc 2 --grace 5 -- sculpt train --config " + q(cfg) +
                               " --set train.out_dir=" + out_dir + " 2> " + q(err));
  ASSERT_TRUE(wait_for_file(out_dir + "/trainer_state/state.json", 120)) << testing::read_text_file(err);
  std::smatch m;
  const std::string text = testing::read_text_file(err);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("pids ([0-9]+) ([0-9]+)"))) << text;
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(pid_t(std::stol(m[2])), SIGKILL);  // rank 1
  const int status = wait_for(launcher, 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(status, 128 + SIGKILL);
  EXPECT_LT(seconds, 30.0);
  const std::string log = testing::read_text_file(err);
  EXPECT_NE(log.find("rank 1 (pid " + std::string(m[2]) + ") was killed by signal 9"), std::string::npos) << log;
  EXPECT_EQ(::kill(pid_t(std::stol(m[1])), 0), -1);  // rank 0 is gone too

  // The last checkpoint loads, and the run resumes from it on two ranks.
  ASSERT_NO_THROW(load_transformer(out_dir));
  const int64_t step = nlohmann::json::parse(testing::read_text_file(out_dir + "/trainer_state/state.json"))["step"];
  std::string out;
  ASSERT_EQ(testing::run_command(kSculpt + " launch --nproc 2 -- sculpt train --config " + q(cfg) + " --set train.out_dir=" +
                                     out_dir + " --resume --stop-at-step " + std::to_string(step + 3), &out), 0) << out;
  EXPECT_NE(out.find("to step " + std::to_string(step + 3)), std::string::npos) << out;
}

TEST_F(DistributedRuns, WithoutTheLauncherTheSurvivorStopsWithAClearError) {
  const std::string cfg = write_train_config(*dir_, "torchrun", false, 100000);
  const std::string out_dir = dir_->file("torchrun");
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(29000 + ::getpid() % 1000);
  const std::string train = kSculpt + " train --config " + q(cfg) + " --set train.out_dir=" + out_dir;
  const pid_t rank0 = spawn(env + " RANK=0 exec " + train + " 2> " + q(dir_->file("rank0.err")));
  const pid_t rank1 = spawn(env + " RANK=1 exec " + train + " 2> /dev/null");
  ASSERT_TRUE(wait_for_file(out_dir + "/trainer_state/state.json", 120)) << testing::read_text_file(dir_->file("rank0.err"));
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(rank1, SIGKILL);
  ::waitpid(rank1, nullptr, 0);
  const int status = wait_for(rank0, 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(status, 1);
  EXPECT_LT(seconds, 30.0);
  const std::string log = testing::read_text_file(dir_->file("rank0.err"));
  EXPECT_NE(log.find("sculpt train (rank 0): error: "), std::string::npos) << log;
  EXPECT_NE(log.find("a peer exited"), std::string::npos) << log;
  ASSERT_NO_THROW(load_transformer(out_dir));
}

TEST(DistributedBatchGeneration, ShardedOutputEqualsOneProcessAndResumes) {
  TempDir dir;
  testing::make_tiny_pipeline_models(dir);
  const std::string cfg = testing::write_tiny_pipeline_config(dir, 4, 24, "  max_tokens: 12\n");
  const std::string prompts = dir.file("prompts.jsonl");
  std::string lines;
  for (int i = 0; i < 7; ++i)
    lines += nlohmann::json{{"id", "p" + std::to_string(i)}, {"prompt", testing::make_document(uint32_t(50 + i), 1)}}.dump() + "\n";
  testing::write_file(prompts, lines);
  auto generate = [&](int nproc, const std::string& out_path, std::string* out) {
    const std::string gen = "sculpt generate --config " + q(cfg) + " --prompts " + q(prompts) + " --out " + q(out_path);
    return testing::run_command(nproc == 1 ? kSculpt + gen.substr(6) : kSculpt + " launch --nproc 2 -- " + gen, out);
  };
  auto texts = [](const std::string& path) {
    std::vector<std::pair<int64_t, std::string>> t;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json r = nlohmann::json::parse(line);
      t.push_back({r["index"].get<int64_t>(), r["text"].get<std::string>()});
    }
    return t;
  };
  std::string out;
  ASSERT_EQ(generate(1, dir.file("one.jsonl"), &out), 0) << out;
  ASSERT_EQ(generate(2, dir.file("two.jsonl"), &out), 0) << out;
  const auto one = texts(dir.file("one.jsonl")), two = texts(dir.file("two.jsonl"));
  ASSERT_EQ(one.size(), 7u);
  for (int64_t i = 0; i < 7; ++i) EXPECT_EQ(one[size_t(i)].first, i);  // input order
  EXPECT_EQ(one, two);
  EXPECT_FALSE(file_exists(dir.file("two.jsonl.parts")));

  // A half-done run: two finished prompts in a part file (and a line torn by a kill).
  std::ifstream in(dir.file("one.jsonl"));
  std::vector<std::string> records;
  for (std::string line; std::getline(in, line);) records.push_back(line);
  testing::write_file(dir.file("resumed.jsonl.parts/rank-1.jsonl"), records[2] + "\n" + records[5] + "\n" + records[6].substr(0, 20));
  ASSERT_EQ(generate(2, dir.file("resumed.jsonl"), &out), 0) << out;
  EXPECT_NE(out.find("7 prompts (2 already done"), std::string::npos) << out;
  EXPECT_EQ(texts(dir.file("resumed.jsonl")), one);
  // A finished output is left alone.
  ASSERT_EQ(generate(1, dir.file("resumed.jsonl"), &out), 0) << out;
  EXPECT_NE(out.find("7 prompts (7 already done"), std::string::npos) << out;

  // Parts made from another prompt file are refused, naming the file and line.
  testing::write_file(dir.file("stale.jsonl.parts/rank-0.jsonl"),
                      nlohmann::json{{"index", 1}, {"prompt", "something else"}, {"config_hash", "x"}}.dump() + "\n");
  EXPECT_EQ(generate(1, dir.file("stale.jsonl"), &out), 1);
  EXPECT_NE(out.find("stale.jsonl.parts/rank-0.jsonl:1: was generated from a different prompt file"), std::string::npos) << out;
}

}  // namespace
}  // namespace sculpt
