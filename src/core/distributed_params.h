// The `distributed:` section: how several processes of one job wait for each other (training
// and sharded batch generation under `sculpt launch`, core/distributed.h).
#pragma once

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

}  // namespace sculpt
