// Crash safety: `sculpt train` writing checkpoints and `sculpt index add` writing an index are
// killed with SIGKILL at random moments, many times; after every kill the last complete file
// must load and the work must continue from it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/checkpoint.h"
#include "core/transformer.h"
#include "retrieval/retriever_registry.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

const std::string kSculpt = std::string(SCULPT_BINARY_DIR) + "/sculpt";

// Runs `command` under /bin/sh, SIGKILLs it after `seconds` unless it finished first. Returns
// true if it was killed.
bool run_and_kill_after(const std::string& command, double seconds) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(seconds * 1e6));
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return true;
}

double seconds_to_run(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  std::string out;
  EXPECT_EQ(testing::run_command(command, &out), 0) << out;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(CrashSafety, TrainingKilledAtRandomMomentsAlwaysLeavesALoadableResumableCheckpoint) {
  TempDir dir;
  testing::make_template_corpus(dir, 60);
  const std::string cfg = dir.file("train.yaml");
  // A checkpoint every step, so that kills land inside checkpoint writes often.
  testing::write_file(cfg,
      "model: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,\n"
      "        num_key_value_heads: 2, max_position_embeddings: 64}\n"
      "runtime: {seed: 2, n_threads: 1}\n"
      "data: {corpus: " + dir.file("corpus") + ", validation_fraction: 0.1, seq_len: 32}\n"
      "train: {tokenizer: " + dir.file("tok.model") + ", out_dir: " + dir.file("model") +
          ", batch_size: 4, max_steps: 100000, warmup_steps: 10, eval_every: 0, save_every: 1, log_every: 1}\n");
  const std::string train = kSculpt + " train --config " + cfg + " 2>/dev/null";
  // Start-up (loading LibTorch, the shards) before the first step, measured once.
  const double startup = seconds_to_run(kSculpt + " train --config " + cfg + " --set train.out_dir=" +
                                        dir.file("probe") + " --set train.max_steps=1");
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> extra(0.0, 1.5);
  int kills_with_checkpoint = 0, kills_mid_write = 0;
  int64_t last_step = 0;
  for (int round = 0; round < 12; ++round) {
    const bool has_state = file_exists(dir.file("model/trainer_state/state.json")) ||
                           file_exists(dir.file("model/trainer_state.old/state.json"));
    ASSERT_TRUE(run_and_kill_after(train + (has_state ? " --resume" : ""), startup + extra(rng))) << "round " << round;
    if (fs::exists(dir.file("model/checkpoint-tmp"))) ++kills_mid_write;
    if (!file_exists(dir.file("model/config.json"))) continue;  // killed before the first checkpoint
    ++kills_with_checkpoint;
    // The model folder loads at any moment...
    ASSERT_NO_THROW(load_transformer(dir.file("model"))) << "round " << round;
    // ... and the trainer state resumes, never going back past a completed checkpoint.
    std::string out;
    ASSERT_EQ(testing::run_command(kSculpt + " train --config " + cfg + " --resume --stop-at-step 1", &out), 0)
        << "round " << round << ": " << out;
    const int64_t step =
        nlohmann::json::parse(testing::read_text_file(dir.file("model/trainer_state/state.json")))["step"];
    EXPECT_GE(step, last_step) << "round " << round;
    last_step = step;
  }
  std::printf("kills: %d after a checkpoint existed, %d inside a checkpoint write; last step %lld\n",
              kills_with_checkpoint, kills_mid_write, (long long)last_step);
  EXPECT_GE(kills_with_checkpoint, 8);
  EXPECT_GE(last_step, 5);
}

TEST(CrashSafety, IndexAddKilledAtRandomMomentsLeavesTheOldOrTheNewIndex) {
  TempDir dir;
  // A base index large enough that writing it takes a measurable time.
  std::vector<Document> docs;
  for (int i = 0; i < 3000; ++i) docs.push_back({"base_" + std::to_string(i), testing::make_document(uint32_t(i), 6)});
  {
    std::unique_ptr<Retriever> index = make_retriever(RetrievalParams{});
    index->add(docs);
    index->save(dir.file("index.bm25"));
  }
  auto add_corpus = [&](int round) {
    const std::string corpus = dir.file("add_" + std::to_string(round));
    for (int i = 0; i < 20; ++i)
      testing::write_file(corpus + "/r" + std::to_string(round) + "_" + std::to_string(i) + ".txt",
                          testing::make_document(uint32_t(10000 + 100 * round + i), 4));
    return kSculpt + " index add --index " + dir.file("index.bm25") + " --corpus " + corpus + " 2>/dev/null";
  };
  const double full = seconds_to_run(add_corpus(0));
  size_t n_docs = load_retriever(dir.file("index.bm25"))->n_documents();
  ASSERT_EQ(n_docs, 3020u);
  std::mt19937 rng(777);
  std::uniform_real_distribution<double> when(0.3 * full, 1.1 * full);
  int killed = 0, grew = 0;
  for (int round = 1; round <= 20; ++round) {
    killed += run_and_kill_after(add_corpus(round), when(rng));
    std::unique_ptr<Retriever> index;
    ASSERT_NO_THROW(index = load_retriever(dir.file("index.bm25"))) << "round " << round;
    const size_t now = index->n_documents();
    EXPECT_TRUE(now == n_docs || now == n_docs + 20) << "round " << round << ": " << n_docs << " -> " << now;
    grew += now > n_docs;
    n_docs = now;
    EXPECT_FALSE(index->search("sailor harbour", 3).empty());
  }
  // The temporary files of the killed writers are gone once a later write succeeds.
  ASSERT_EQ(testing::run_command(add_corpus(21)), 0);
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find("index.bm25.tmp."), std::string::npos) << entry.path();
  std::printf("index add: %d of 20 runs killed, %d completed their write (one run takes %.2f s)\n", killed, grew, full);
  EXPECT_GE(killed, 5);
}

}  // namespace
}  // namespace sculpt
