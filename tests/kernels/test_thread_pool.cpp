// The compute pool runs a job once on every thread and returns only when all are done, both
// while its workers spin and after they have gone to sleep.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "kernels/thread_pool.h"

namespace sculpt {
namespace {

TEST(ThreadPoolTest, EveryThreadRunsEachJobOnce) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    EXPECT_EQ(pool.n_threads(), n);
    std::vector<int> counts(size_t(n), 0);
    for (int job = 0; job < 300; ++job)
      pool.run([&](int t, int n_threads) {
        ASSERT_EQ(n_threads, n);
        ++counts[size_t(t)];  // each thread owns its slot
      });
    for (int c : counts) EXPECT_EQ(c, 300);
  }
}

TEST(ThreadPoolTest, RunWaitsForWorkersThatWereAsleep) {
  ThreadPool pool(3);
  std::atomic<int> done{0};
  for (int job = 0; job < 5; ++job) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spinning time
    pool.run([&](int t, int) {
      if (t != 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      done.fetch_add(1);
    });
    EXPECT_EQ(done.load(), 3 * (job + 1));
  }
}

// A server's slots: several threads reach the shared pool at once, the first time included, and
// their jobs take turns without losing a call.
TEST(ThreadPoolTest, CallersOnSeveralThreadsShareOnePoolAndTakeTurns) {
  set_compute_threads(2);
  std::atomic<int> calls{0};
  std::vector<ThreadPool*> seen(4, nullptr);
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      ThreadPool& pool = compute_pool();
      seen[size_t(c)] = &pool;
      for (int job = 0; job < 200; ++job) pool.run([&](int, int) { calls.fetch_add(1); });
    });
  for (std::thread& t : callers) t.join();
  for (ThreadPool* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(calls.load(), 4 * 200 * 2);
}

TEST(ThreadPoolTest, ComputePoolFollowsSetComputeThreads) {
  set_compute_threads(3);
  EXPECT_EQ(compute_pool().n_threads(), 3);
  set_compute_threads(1);
  EXPECT_EQ(compute_pool().n_threads(), 1);
  EXPECT_THROW(set_compute_threads(0), std::exception);
}

}  // namespace
}  // namespace sculpt
