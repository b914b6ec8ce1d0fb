// fork/exec of the ranks, their environment, and stopping all of them when one fails; see launcher.h.
#include "cli/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <thread>

#include "core/error.h"

namespace sculpt::cli {
namespace {

std::atomic<int> g_stop_signal{0};
void on_stop_signal(int sig) { g_stop_signal = sig; }

// A port nothing listens on now (the kernel's choice); the rendezvous binds it a moment later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("sculpt launch", "cannot open a socket to find a free port: ", errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    fail("sculpt launch", "cannot find a free port: ", errno_text(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return str_cat("was killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  return str_cat("exited with status ", WEXITSTATUS(status));
}

int shell_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

}  // namespace

int launch_processes(const LaunchParams& p, const std::vector<std::string>& command, std::ostream& log) {
  if (p.nproc < 1 || p.nproc > 1024) fail("--nproc", p.nproc, " must be in [1, 1024]");
  if (p.nnodes < 1) fail("--nnodes", p.nnodes, " must be at least 1");
  if (p.node_rank < 0 || p.node_rank >= p.nnodes) fail("--node-rank", p.node_rank, " must be in [0, ", p.nnodes - 1, "]");
  if (p.nnodes > 1 && p.master_port == 0)
    fail("--master-port", "is required with --nnodes ", p.nnodes, ": every machine must use the same one");
  if (p.master_port < 0 || p.master_port > 65535) fail("--master-port", p.master_port, " is not a port");
  if (command.empty()) fail("sculpt launch", "no command to run; put it after --");
  const int port = p.master_port ? p.master_port : free_port();
  const int world = p.nproc * p.nnodes;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = p.threads > 0 ? p.threads : std::max(1, int(cores) / p.nproc);

  // "sculpt" means this binary, so `./build/sculpt launch -- sculpt train` needs no PATH.
  std::vector<std::string> argv_strings = command;
  if (argv_strings[0] == "sculpt") {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) argv_strings[0] = std::string(self, size_t(n));
  }
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);

  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids(size_t(p.nproc), -1);
  for (int local = 0; local < p.nproc; ++local) {
    const pid_t pid = ::fork();
    if (pid < 0) fail("sculpt launch", "cannot start rank ", p.node_rank * p.nproc + local, ": ", errno_text(errno));
    if (pid == 0) {
      // The child dies with the launcher, whatever kills it.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(1);
      if (p.stdout_to_stderr) ::dup2(STDERR_FILENO, STDOUT_FILENO);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::setenv("RANK", std::to_string(p.node_rank * p.nproc + local).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("GROUP_RANK", std::to_string(p.node_rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(p.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", p.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      // Threads are split between the processes (a user's own settings win), and OpenBLAS,
      // which keeps its own pool, gets the same number.
      ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 0);
      ::setenv("OPENBLAS_NUM_THREADS", std::getenv("OMP_NUM_THREADS"), 0);
      ::execvp(argv[0], argv.data());
      std::fprintf(stderr, "sculpt launch: error: cannot run '%s': %s\n", argv[0], std::strerror(errno));
      ::_exit(127);
    }
    pids[size_t(local)] = pid;
  }
  std::string pid_list;
  for (pid_t pid : pids) pid_list += (pid_list.empty() ? "" : " ") + std::to_string(pid);
  log << "sculpt launch: " << p.nproc << " processes (ranks " << p.node_rank * p.nproc << "-"
      << p.node_rank * p.nproc + p.nproc - 1 << " of " << world << ", pids " << pid_list << "), rendezvous "
      << p.master_addr << ":" << port << ", " << threads << " threads each" << std::endl;

  // Wait for every rank; on the first failure (or a signal to us) stop the rest.
  int result = 0;
  size_t running = pids.size();
  bool stopping = false;
  std::chrono::steady_clock::time_point kill_at;
  auto stop_all = [&](int sig) {
    for (pid_t pid : pids)
      if (pid > 0) ::kill(pid, sig);
  };
  while (running > 0) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      auto it = std::find(pids.begin(), pids.end(), done);
      if (it == pids.end()) continue;
      const int rank = p.node_rank * p.nproc + int(it - pids.begin());
      *it = -1;
      --running;
      const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      if (failed && !stopping) {
        result = shell_status(status);
        log << "sculpt launch: rank " << rank << " (pid " << done << ") " << describe_status(status);
        if (running > 0) log << "; stopping the other " << running << " rank" << (running == 1 ? "" : "s");
        log << std::endl;
        stopping = true;
        stop_all(SIGTERM);
        kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(p.grace_s * 1000));
      }
      continue;
    }
    if (g_stop_signal != 0 && !stopping) {
      log << "sculpt launch: " << strsignal(g_stop_signal) << "; stopping " << running << " rank"
          << (running == 1 ? "" : "s") << std::endl;
      result = 128 + g_stop_signal;
      stopping = true;
      stop_all(SIGTERM);
      kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(p.grace_s * 1000));
    }
    if (stopping && std::chrono::steady_clock::now() >= kill_at) {
      stop_all(SIGKILL);
      kill_at = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  g_stop_signal = 0;
  return result;
}

}  // namespace sculpt::cli
