// Starting the processes of a multi-process run on this machine, as torchrun does: each child
// gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT and
// OMP_NUM_THREADS; when one exits with an error (or is killed), the others get SIGTERM, then
// SIGKILL after a grace period, so a failed run never leaves ranks waiting on a dead peer.
//
//   LaunchParams p;  p.nproc = 2;
//   int status = launch_processes(p, {"sculpt", "train", "--config", "configs/train/x.yaml"}, std::cerr);
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sculpt::cli {

struct LaunchParams {
  int nproc = 1;       // processes on this machine
  int nnodes = 1;      // machines in the job, each running one launcher
  int node_rank = 0;   // this machine's index, 0 .. nnodes - 1 (node 0 hosts the rendezvous)
  std::string master_addr = "127.0.0.1";  // node 0's address
  int master_port = 0;     // rendezvous port; 0 = a free one (one machine only)
  int threads = 0;         // OMP_NUM_THREADS per process; 0 = logical cores / nproc, at least 1
  double grace_s = 10;     // SIGTERM -> SIGKILL delay when stopping the ranks
  bool stdout_to_stderr = false;  // the ranks' stdout goes to stderr (a caller printing JSON)
};

// Runs `command` nproc times (a first word "sculpt" without a path means this very binary) and
// waits. Returns 0 when every rank succeeds; otherwise the first failure's exit status (128 +
// signal for a killed rank, as shells report it). SIGINT and SIGTERM to the launcher stop every
// rank. Throws Error for bad params or a child that cannot be started.
int launch_processes(const LaunchParams& params, const std::vector<std::string>& command, std::ostream& log);

}  // namespace sculpt::cli
