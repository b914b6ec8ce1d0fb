// Several processes working as one, on PyTorch's own distributed runtime (c10d): a TCPStore
// rendezvous and a ProcessGroupGloo for the collectives. The processes find each other through
// the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so
// `sculpt launch`, torchrun-style job scripts and cluster schedulers all start them the same way.
//
//   const WorldInfo world = world_from_environment();  // rank 0 of 1 when the variables are unset
//   std::unique_ptr<Communicator> comm = Communicator::connect(world, DistributedParams{});
//   comm->all_reduce_sum(tensors);                      // in place, the same on every rank
//
// c10d stays behind this header (it needs USE_C10D_GLOO and the gloo headers to compile).
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/distributed_params.h"

namespace sculpt {

// Where this process stands in the job, read from torchrun's variables.
struct WorldInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  bool distributed() const { return world_size > 1; }
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Unset WORLD_SIZE (or 1) = a single
// process. Throws Error naming the variable when one is malformed or out of range, or when
// WORLD_SIZE > 1 comes without RANK or MASTER_PORT.
WorldInfo world_from_environment();

// A connected process group. All ranks must call the collectives in the same order.
class Communicator {
 public:
  // Rendezvous at master_addr:master_port (rank 0 serves the TCPStore) and build the Gloo
  // group. Throws Error when the peers do not all arrive within timeout_s.
  static std::unique_ptr<Communicator> connect(const WorldInfo& world, const DistributedParams& params);
  ~Communicator();

  int rank() const;
  int world_size() const;

  // In place, on CPU tensors; each throws Error("<op>: failed ...") when a peer is lost or
  // the timeout passes.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  void broadcast(std::vector<at::Tensor>& tensors, int root);
  void barrier();
  // The same double on every rank: min over ranks (used to agree on a resume step, a flag).
  double all_reduce_min(double value);

  // A sum over ranks of one tensor, in place, started in the background: the caller goes on
  // (a backward pass producing the next gradients) and wait()s before reading the tensor.
  class PendingSum {
   public:
    struct Impl;
    explicit PendingSum(std::unique_ptr<Impl> impl);
    PendingSum(PendingSum&&) noexcept;
    PendingSum& operator=(PendingSum&&) noexcept;
    ~PendingSum();
    // Throws Error when a peer is lost or the timeout passes.
    void wait();

   private:
    std::unique_ptr<Impl> impl_;
  };
  // `what` names the collective in errors ("gradient all-reduce: failed ...").
  PendingSum all_reduce_sum_async(const at::Tensor& tensor, const std::string& what = "all-reduce");

  struct Impl;

 private:
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sculpt
