// Data-parallel training's gradient averaging over the ranks of a Communicator
// (core/distributed.h), bucketed and overlapped with the backward pass as in PyTorch's
// DistributedDataParallel.
//
//   GradientReducer reducer(*comm, model->parameters(), /*bucket_bytes=*/8 << 20);
//   reducer.begin_step(/*sync=*/true);  loss.backward();  reducer.finish_step();  // grads averaged
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/distributed.h"

namespace sculpt {

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
