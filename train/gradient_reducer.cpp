// GradientReducer: bucketed, overlapped gradient all-reduce; see gradient_reducer.h.
#include "train/gradient_reducer.h"

#include <ATen/ATen.h>

#include <mutex>
#include <optional>

#include "core/error.h"

namespace sculpt {

struct GradientReducer::Impl {
  struct Bucket {
    std::vector<size_t> params;   // indices into `params`, in the order they are laid out
    std::vector<int64_t> offset;  // each one's first element in `flat`
    at::Tensor flat;              // the bucket's gradients, contiguous, one dtype
    size_t n_pending = 0;         // gradients still to arrive this step
    std::optional<Communicator::PendingSum> pending;
  };

  Communicator* comm = nullptr;
  std::vector<at::Tensor> params;
  std::vector<size_t> bucket_of, slot_of;  // per parameter: its bucket and place in it
  std::vector<Bucket> buckets;
  std::vector<bool> arrived;
  std::vector<unsigned> hooks;
  size_t next_launch = 0;  // buckets launch in index order only
  bool sync = false;
  std::mutex mutex;

  at::Tensor slice(size_t i) {
    Bucket& b = buckets[bucket_of[i]];
    const int64_t n = params[i].numel();
    return b.flat.narrow(0, b.offset[slot_of[i]], n).view(params[i].sizes());
  }

  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].n_pending == 0) {
      Bucket& b = buckets[next_launch++];
      b.pending = comm->all_reduce_sum_async(b.flat, "gradient all-reduce");
    }
  }

  // The autograd hook of parameter i: `grad` is this micro-batch's gradient, not yet added to
  // .grad, so the bucket gets .grad + grad, the step's full accumulated gradient.
  void on_gradient(size_t i, const at::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!sync || arrived[i]) return;
    at::NoGradGuard no_grad;
    const at::Tensor& accumulated = params[i].grad();
    at::Tensor target = slice(i);
    if (accumulated.defined()) at::add_out(target, accumulated, grad);
    else target.copy_(grad);
    arrived[i] = true;
    --buckets[bucket_of[i]].n_pending;
    launch_ready();
  }
};

GradientReducer::GradientReducer(Communicator& comm, std::vector<at::Tensor> params, int64_t bucket_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& r = *impl_;
  r.comm = &comm;
  r.params = std::move(params);
  r.bucket_of.assign(r.params.size(), 0);
  r.slot_of.assign(r.params.size(), 0);
  // Reverse order: the backward pass produces the last layers' gradients first.
  int64_t bytes = 0;
  std::vector<int64_t> numel;  // per bucket
  for (size_t k = r.params.size(); k-- > 0;) {
    const at::Tensor& p = r.params[k];
    if (!p.requires_grad()) continue;
    if (r.buckets.empty() || bytes >= bucket_bytes || r.buckets.back().flat.scalar_type() != p.scalar_type()) {
      r.buckets.emplace_back();
      r.buckets.back().flat = at::empty({0}, p.options().requires_grad(false));  // dtype holder
      numel.push_back(0);
      bytes = 0;
    }
    Impl::Bucket& b = r.buckets.back();
    r.bucket_of[k] = r.buckets.size() - 1;
    r.slot_of[k] = b.params.size();
    b.offset.push_back(numel.back());
    b.params.push_back(k);
    numel.back() += p.numel();
    bytes += p.numel() * int64_t(p.element_size());
  }
  for (size_t b = 0; b < r.buckets.size(); ++b)
    r.buckets[b].flat = at::zeros({numel[b]}, r.buckets[b].flat.options());
  r.arrived.assign(r.params.size(), false);
  for (size_t k = 0; k < r.params.size(); ++k) {
    if (!r.params[k].requires_grad()) continue;
    Impl* self = impl_.get();
    r.hooks.push_back(r.params[k].register_hook([self, k](const at::Tensor& grad) { self->on_gradient(k, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  size_t h = 0;
  for (size_t k = 0; k < impl_->params.size(); ++k)
    if (impl_->params[k].requires_grad()) impl_->params[k].remove_hook(impl_->hooks[h++]);
}

int64_t GradientReducer::n_buckets() const { return int64_t(impl_->buckets.size()); }

void GradientReducer::begin_step(bool sync) {
  Impl& r = *impl_;
  std::lock_guard<std::mutex> lock(r.mutex);
  r.sync = sync;
  if (!sync) return;
  std::fill(r.arrived.begin(), r.arrived.end(), false);
  for (Impl::Bucket& b : r.buckets) {
    b.n_pending = b.params.size();
    b.pending.reset();
  }
  r.next_launch = 0;
}

void GradientReducer::finish_step() {
  Impl& r = *impl_;
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.sync) return;
  at::NoGradGuard no_grad;
  // Parameters this rank gave no gradient this micro-batch send what they hold (or zeros).
  for (Impl::Bucket& b : r.buckets) {
    if (b.n_pending == 0) continue;
    for (size_t i : b.params) {
      if (r.arrived[i]) continue;
      const at::Tensor& g = r.params[i].grad();
      if (g.defined()) r.slice(i).copy_(g);
      else r.slice(i).zero_();
      r.arrived[i] = true;
    }
    b.n_pending = 0;
  }
  r.launch_ready();
  const double inv_world = 1.0 / double(r.comm->world_size());
  for (Impl::Bucket& b : r.buckets) {
    b.pending->wait();
    b.flat.mul_(inv_world);
    b.pending.reset();
    for (size_t i : b.params) {
      at::Tensor& p = r.params[i];
      if (p.grad().defined()) p.mutable_grad().copy_(r.slice(i));
      else p.mutable_grad() = r.slice(i).clone();
    }
  }
  r.sync = false;
}

}  // namespace sculpt
