// A spinning-then-sleeping pool of compute threads; see thread_pool.h.
#include "kernels/thread_pool.h"

#include <sched.h>

#include <chrono>
#include <memory>

#include "core/error.h"

namespace sculpt {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// How long a worker keeps polling for the next job before it sleeps: longer than the gap between
// two jobs of a decoding step (sampling, streaming), short enough not to hold a core that
// LibTorch's own threads want when the kernels are idle.
constexpr auto kSpinTime = std::chrono::microseconds(300);

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads < 1) fail("thread pool", n_threads, " threads: need at least 1");
  for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::run(const std::function<void(int, int)>& job) {
  const int n = n_threads();
  if (n == 1) {
    job(0, 1);
    return;
  }
  std::lock_guard<std::mutex> one_at_a_time(run_mutex_);
  job_ = &job;
  pending_.store(n - 1);
  generation_.fetch_add(1);  // sequentially consistent with the sleepers_ check, see work()
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);  // a worker between sleepers_++ and wait() holds it
    wake_.notify_all();
  }
  job(0, n);
  while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ThreadPool::work(int thread) {
  unsigned long seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      cpu_relax();
      if (++polls % 64 != 0 || std::chrono::steady_clock::now() < spin_until) continue;
      std::unique_lock<std::mutex> lock(mutex_);
      // Either run() sees sleepers_ > 0 and notifies under the lock, or this load sees its new
      // generation: both are sequentially consistent.
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load();
    if (stop_) return;
    (*job_)(thread, n_threads());
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

namespace {

int g_compute_threads = 0;  // 0 = not set
std::unique_ptr<ThreadPool> g_pool;
std::mutex g_pool_mutex;  // a server's slots may ask for the pool first at the same time

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

}  // namespace

int compute_threads() { return g_compute_threads > 0 ? g_compute_threads : available_cpus(); }

void set_compute_threads(int n_threads) {
  if (n_threads < 1) fail("compute threads", n_threads, ": need at least 1");
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_compute_threads = n_threads;
  if (g_pool && g_pool->n_threads() != n_threads) g_pool = std::make_unique<ThreadPool>(n_threads);
}

ThreadPool& compute_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(compute_threads());
  return *g_pool;
}

}  // namespace sculpt
