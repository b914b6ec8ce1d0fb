// The compute threads of the CPU kernels: the calling thread and n - 1 workers run one function
// together and the call returns when all have finished. Workers spin for a short while after
// each job before they sleep, because a decoding step runs a few dozen jobs of tens of
// microseconds each and waking a sleeping thread costs about as much as one of them.
//
//   ThreadPool& pool = compute_pool();
//   pool.run([&](int thread, int n_threads) { /* this thread's share */ });
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sculpt {

class ThreadPool {
 public:
  // n_threads >= 1 (the caller counts as one).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Calls job(thread, n_threads) once on each thread, thread 0 being the caller, and returns
  // when every call has returned. Jobs must not throw and must not call run(). Callers on
  // several threads (a server's slots) take turns.
  void run(const std::function<void(int thread, int n_threads)>& job);

  int n_threads() const { return int(workers_.size()) + 1; }

 private:
  void work(int thread);

  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<unsigned long> generation_{0};  // bumped once per run
  std::atomic<int> pending_{0};               // workers still inside the current job
  std::atomic<int> sleepers_{0};              // workers waiting on wake_
  std::atomic<bool> stop_{false};
  std::mutex mutex_;         // guards sleeping and waking
  std::condition_variable wake_;
  std::mutex run_mutex_;     // one run at a time
};

// The pool the kernels use, made at the first call with compute_threads() threads.
ThreadPool& compute_pool();
// Sets the size of compute_pool() (>= 1); rebuilds it if it exists. Not while a job runs.
void set_compute_threads(int n_threads);
// Its size: set_compute_threads(), else the number of CPUs this process may run on.
int compute_threads();

}  // namespace sculpt
