// Several processes working as one, on PyTorch's own distributed runtime (c10d): a TCPStore
// rendezvous and a ProcessGroupGloo for the collectives. The processes find each other through
// the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so
// `sculpt launch`, torchrun-style job scripts and cluster schedulers all start them the same way.
//
//   const WorldInfo world = world_from_environment();  // rank 0 of 1 when the variables are unset
//   std::unique_ptr<Communicator> comm = Communicator::connect(world, DistributedParams{});
//   GradientReducer reducer(*comm, model->parameters(), /*bucket_bytes=*/8 << 20);
//   reducer.begin_step(/*sync=*/true);  loss.backward();  reducer.finish_step();  // grads averaged
//
// c10d stays behind this header (it needs USE_C10D_GLOO and the gloo headers to compile).
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

struct DistributedParams {
  // Longest wait for the rendezvous and for any one collective. A rank that dies is noticed at
  // once (its sockets close); this bounds the wait for a rank that hangs or never starts.
  double timeout_s = 300;
  // Gradients are all-reduced in buckets of about this many megabytes, each sent as soon as
  // the backward pass has produced all of its gradients (PyTorch DDP's default is 25 MB).
  double bucket_mb = 4;

  template <class V>
  void visit(V& v) {
    v.field("timeout_s", timeout_s, "longest wait for the rendezvous or one collective, seconds", Range{1.0, 86400.0});
    v.field("bucket_mb", bucket_mb, "gradient all-reduce bucket size, megabytes", Range{0.01, 4096.0});
  }
};

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

  struct Impl;

 private:
  friend class GradientReducer;
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Averages gradients over ranks the way PyTorch's DistributedDataParallel does: parameters are
// grouped into buckets in reverse order (the order the backward pass produces their gradients);
// a bucket is all-reduced asynchronously as soon as all of its gradients exist, while the
// backward pass goes on, and buckets are sent strictly in order so every rank issues the same
// collectives in the same sequence. Parameters that get no gradient on a rank (an expert no
// token was routed to) contribute zeros. With gradient accumulation only the last micro-batch
// of a step synchronises (begin_step(sync=false) for the others, like DDP's no_sync()).
class GradientReducer {
 public:
  GradientReducer(Communicator& comm, std::vector<at::Tensor> params, int64_t bucket_bytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call before the backward pass of each micro-batch.
  void begin_step(bool sync);
  // Call after it: on a sync step, waits for every bucket and writes the mean gradient over
  // ranks into each parameter's .grad. Throws Error when a peer is lost.
  void finish_step();

  int64_t n_buckets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sculpt
