// core/distributed: torchrun's variables, the rendezvous timeout, and the bucketed gradient
// all-reduce checked against the gradient computed in one process. The multi-process cases run
// this test binary again as the ranks (ReducerWorker.Run, which does nothing otherwise).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include "core/distributed.h"
#include "train/gradient_reducer.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using testing::TempDir;

// Sets (or, with nullptr, unsets) environment variables for one test, restoring them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
      if (value) ::setenv(name, value, 1);
      else ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(WorldFromEnvironment, SingleProcessWithoutVariables) {
  ScopedEnv env{{"WORLD_SIZE", nullptr}, {"RANK", nullptr}};
  const WorldInfo w = world_from_environment();
  EXPECT_FALSE(w.distributed());
  EXPECT_EQ(w.rank, 0);
  EXPECT_EQ(w.world_size, 1);
}

TEST(WorldFromEnvironment, ReadsTorchrunVariables) {
  ScopedEnv env{{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29400"}};
  const WorldInfo w = world_from_environment();
  EXPECT_TRUE(w.distributed());
  EXPECT_EQ(w.rank, 3);
  EXPECT_EQ(w.world_size, 4);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.master_addr, "10.0.0.2");
  EXPECT_EQ(w.master_port, 29400);
}

TEST(WorldFromEnvironment, NamesTheBadVariable) {
  {
    ScopedEnv env{{"WORLD_SIZE", "two"}};
    EXPECT_NE(testing::error_message([] { world_from_environment(); }).find("WORLD_SIZE"), std::string::npos);
  }
  {
    ScopedEnv env{{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_PORT", "29400"}};
    const std::string m = testing::error_message([] { world_from_environment(); });
    EXPECT_NE(m.find("RANK"), std::string::npos) << m;
    EXPECT_NE(m.find("[0, 1]"), std::string::npos) << m;
  }
  {
    ScopedEnv env{{"WORLD_SIZE", "2"}, {"RANK", nullptr}, {"MASTER_PORT", "29400"}};
    EXPECT_NE(testing::error_message([] { world_from_environment(); }).find("RANK"), std::string::npos);
  }
  {
    ScopedEnv env{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", nullptr}};
    EXPECT_NE(testing::error_message([] { world_from_environment(); }).find("MASTER_PORT"), std::string::npos);
  }
  {
    ScopedEnv env{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}};
    EXPECT_NE(testing::error_message([] { world_from_environment(); }).find("MASTER_PORT"), std::string::npos);
  }
}

// A port free at the moment (the kernel's choice).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(Communicator, RendezvousTimesOutWhenAPeerNeverArrives) {
  WorldInfo w;
  w.world_size = 2;
  w.master_port = free_port();
  DistributedParams p;
  p.timeout_s = 2;
  const auto start = std::chrono::steady_clock::now();
  const std::string m = testing::error_message([&] { Communicator::connect(w, p); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(m.find("rendezvous at 127.0.0.1:"), std::string::npos) << m;
  EXPECT_LT(seconds, 30.0);
}

// ---- the reducer, against one process ----

// The toy model's parameters; w2 is used by rank 1 only, so rank 0 never produces its gradient.
struct ToyParams {
  at::Tensor w1, b1, w2;
  ToyParams() {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
    w1 = at::randn({16, 40}, gen).requires_grad_();
    b1 = at::randn({40}, gen).requires_grad_();
    w2 = at::randn({40, 24}, gen).requires_grad_();
  }
  std::vector<at::Tensor> list() const { return {w1, b1, w2}; }
};

// Rank r's loss on micro-batch `micro` of step `step`, already divided by the 2 micro-batches.
at::Tensor toy_loss(const ToyParams& p, int rank, int step, int micro) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(100 * rank + 10 * step + micro));
  const at::Tensor x = at::randn({5, 16}, gen);
  at::Tensor h = at::tanh(at::matmul(x, p.w1) + p.b1);
  if (rank == 1) h = at::matmul(h, p.w2);
  return h.pow(2).mean() / 2.0;
}

at::Tensor flat_grads(const ToyParams& p) {
  std::vector<at::Tensor> parts;
  for (const at::Tensor& t : p.list())
    parts.push_back(t.grad().defined() ? t.grad().reshape({-1}) : at::zeros({t.numel()}));
  return at::cat(parts);
}

constexpr int kSteps = 2;

// One rank of the multi-process tests: SCULPT_REDUCER_DIR says where to write its gradients.
TEST(ReducerWorker, Run) {
  const char* dir = std::getenv("SCULPT_REDUCER_DIR");
  if (!dir) GTEST_SKIP() << "runs only as a rank started by the tests below";
  const bool die = std::getenv("SCULPT_REDUCER_DIE") != nullptr;
  const WorldInfo world = world_from_environment();
  DistributedParams params;
  params.timeout_s = 30;
  std::unique_ptr<Communicator> comm = Communicator::connect(world, params);
  ToyParams p;
  GradientReducer reducer(*comm, p.list(), /*bucket_bytes=*/1024);  // w1 and w2 apart: several buckets
  std::ofstream(std::string(dir) + "/buckets") << reducer.n_buckets();
  for (int step = 0; step < kSteps; ++step) {
    p.w1.mutable_grad() = at::Tensor();  // as zero_grad(set_to_none) ...
    if (p.b1.grad().defined()) p.b1.mutable_grad().zero_();  // ... and as zero_grad()
    p.w2.mutable_grad() = at::Tensor();
    for (int micro = 0; micro < 2; ++micro) {
      reducer.begin_step(/*sync=*/micro == 1);
      at::Tensor loss = toy_loss(p, world.rank, step, micro);
      if (die && world.rank == 1 && step == 1) ::_exit(3);  // a rank lost mid-run
      try {
        loss.backward();
        reducer.finish_step();
      } catch (const std::exception& e) {  // a sculpt::Error, whichever call noticed
        std::ofstream(std::string(dir) + "/error-" + std::to_string(world.rank)) << e.what();
        return;
      }
    }
    const at::Tensor g = flat_grads(p).contiguous();
    std::ofstream out(std::string(dir) + "/rank-" + std::to_string(world.rank) + "-step-" + std::to_string(step),
                      std::ios::binary);
    out.write(static_cast<const char*>(g.data_ptr()), std::streamsize(g.numel() * sizeof(float)));
  }
}

// Runs this binary's ReducerWorker.Run as `world` ranks; returns their exit statuses.
std::vector<int> run_ranks(int world, const std::string& dir, bool die) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("SCULPT_REDUCER_DIR", dir.c_str(), 1);
      if (die) ::setenv("SCULPT_REDUCER_DIE", "1", 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("OMP_NUM_THREADS", "1", 1);
      ::execl("/proc/self/exe", "test_distributed", "--gtest_filter=ReducerWorker.Run", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  std::vector<int> statuses;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    statuses.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return statuses;
}

at::Tensor read_grads(const std::string& path, int64_t n) {
  const std::string bytes = testing::read_text_file(path);
  EXPECT_EQ(bytes.size(), size_t(n) * sizeof(float)) << path;
  return at::from_blob(const_cast<char*>(bytes.data()), {int64_t(bytes.size() / sizeof(float))}, at::kFloat).clone();
}

TEST(GradientReducer, MatchesTheMeanGradientOfOneProcess) {
  TempDir dir;
  const std::vector<int> statuses = run_ranks(2, dir.path(), /*die=*/false);
  ASSERT_EQ(statuses, (std::vector<int>{0, 0}));
  EXPECT_GE(std::stoi(testing::read_text_file(dir.file("buckets"))), 2);

  ToyParams p;  // the same weights; the gradient of the mean loss over both ranks, in one process
  for (int step = 0; step < kSteps; ++step) {
    for (const at::Tensor& t : p.list()) t.mutable_grad() = at::Tensor();
    for (int rank = 0; rank < 2; ++rank)
      for (int micro = 0; micro < 2; ++micro) (toy_loss(p, rank, step, micro) / 2.0).backward();
    const at::Tensor expected = flat_grads(p);
    for (int rank = 0; rank < 2; ++rank) {
      const at::Tensor got = read_grads(dir.file("rank-" + std::to_string(rank) + "-step-" + std::to_string(step)),
                                        expected.numel());
      ASSERT_EQ(got.numel(), expected.numel());
      const double diff = (got - expected).abs().max().item<double>();
      EXPECT_LT(diff, 1e-6) << "rank " << rank << " step " << step;
      // w2's gradient exists only on rank 1, yet both ranks hold its mean.
      EXPECT_GT(got.narrow(0, 16 * 40 + 40, 40 * 24).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(GradientReducer, ALostRankIsAnErrorNotAHang) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> statuses = run_ranks(2, dir.path(), /*die=*/true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(statuses[1], 3);
  EXPECT_EQ(statuses[0], 0);  // the survivor caught an Error and returned
  const std::string message = testing::read_text_file(dir.file("error-0"));
  EXPECT_NE(message.find("gradient all-reduce"), std::string::npos) << message;
  EXPECT_NE(message.find("peer exited"), std::string::npos) << message;
  EXPECT_LT(seconds, 60.0);
}

}  // namespace
}  // namespace sculpt
