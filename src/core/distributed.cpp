// c10d rendezvous, the Gloo process group and the bucketed gradient all-reduce; see distributed.h.
#include "core/distributed.h"

// ProcessGroupGloo.hpp declares its class only under this macro (Debian's libtorch is built
// with Gloo; the headers come from libgloo-dev).
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "core/error.h"

namespace sculpt {
namespace {

// An environment variable as an integer in [lo, hi]; `fallback` when unset or empty.
int env_int(const char* name, int fallback, int lo, int hi) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < lo || value > hi)
    fail(name, "'", text, "' is not an integer in [", lo, ", ", hi, "]");
  return int(value);
}

// The first line of an exception from c10d or gloo (c10::Error appends a C++ backtrace).
std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  const size_t newline = text.find('\n');
  return newline == std::string::npos ? text : text.substr(0, newline);
}

std::chrono::milliseconds to_ms(double seconds) { return std::chrono::milliseconds(int64_t(seconds * 1000.0)); }

}  // namespace

WorldInfo world_from_environment() {
  WorldInfo w;
  w.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  if (!w.distributed()) return w;
  if (!std::getenv("RANK")) fail("RANK", "is unset but WORLD_SIZE is ", w.world_size, "; every process needs its rank");
  w.rank = env_int("RANK", 0, 0, w.world_size - 1);
  w.local_rank = env_int("LOCAL_RANK", w.rank, 0, w.world_size - 1);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) w.master_addr = addr;
  if (!std::getenv("MASTER_PORT")) fail("MASTER_PORT", "is unset but WORLD_SIZE is ", w.world_size);
  w.master_port = env_int("MASTER_PORT", 0, 1, 65535);
  return w;
}

struct Communicator::Impl {
  WorldInfo world;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  // Runs a collective to completion; a lost peer or a timeout becomes an Error naming the rank.
  void run(const char* op, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const {
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait(timeout);
    } catch (const std::exception& e) {
      fail(op, "failed (a peer exited or timed out): ", first_line(e));
    }
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;

std::unique_ptr<Communicator> Communicator::connect(const WorldInfo& world, const DistributedParams& params) {
  auto impl = std::make_unique<Impl>();
  impl->world = world;
  impl->timeout = to_ms(params.timeout_s);
  const std::string where = str_cat("rendezvous at ", world.master_addr, ":", world.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = uint16_t(world.master_port);
    store_options.isServer = world.rank == 0;
    store_options.numWorkers = size_t(world.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = impl->timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, store_options);

    auto options = c10d::ProcessGroupGloo::Options::create(impl->timeout);
    // As torch.distributed: GLOO_SOCKET_IFNAME picks the network interface; a loopback master
    // means one machine; otherwise the interface this host's name resolves to.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (world.master_addr == "127.0.0.1" || world.master_addr == "localhost")
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;  // one collective in flight at a time keeps the ranks' order identical
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, world.rank, world.world_size, options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(where, "failed: ", first_line(e));
  }
  return std::unique_ptr<Communicator>(new Communicator(std::move(impl)));
}

int Communicator::rank() const { return impl_->world.rank; }
int Communicator::world_size() const { return impl_->world.world_size; }

void Communicator::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  impl_->run("all-reduce", [&] { return impl_->group->allreduce(tensors); });
}

void Communicator::broadcast(std::vector<at::Tensor>& tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (at::Tensor& t : tensors) {  // gloo broadcasts one tensor per call
    std::vector<at::Tensor> one{t};
    impl_->run("broadcast", [&] { return impl_->group->broadcast(one, options); });
  }
}

void Communicator::barrier() {
  impl_->run("barrier", [&] { return impl_->group->barrier(); });
}

double Communicator::all_reduce_min(double value) {
  std::vector<at::Tensor> t{at::full({1}, value, at::kDouble)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MIN;
  impl_->run("all-reduce", [&] { return impl_->group->allreduce(t, options); });
  return t[0].item<double>();
}

// ---- GradientReducer ----

struct GradientReducer::Impl {
  struct Bucket {
    std::vector<size_t> params;   // indices into `params`, in the order they are laid out
    std::vector<int64_t> offset;  // each one's first element in `flat`
    at::Tensor flat;              // the bucket's gradients, contiguous, one dtype
    size_t n_pending = 0;         // gradients still to arrive this step
    c10::intrusive_ptr<c10d::Work> work;
  };

  Communicator::Impl* comm = nullptr;
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
      std::vector<at::Tensor> tensors{b.flat};
      try {
        b.work = comm->group->allreduce(tensors);
      } catch (const std::exception& e) {
        fail("gradient all-reduce", "failed (a peer exited): ", first_line(e));
      }
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
  r.comm = comm.impl_.get();
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
    b.work.reset();
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
  const double inv_world = 1.0 / double(r.comm->world.world_size);
  for (Impl::Bucket& b : r.buckets) {
    try {
      b.work->wait(r.comm->timeout);
    } catch (const std::exception& e) {
      fail("gradient all-reduce", "failed (a peer exited or timed out): ", first_line(e));
    }
    b.flat.mul_(inv_world);
    b.work.reset();
    for (size_t i : b.params) {
      at::Tensor& p = r.params[i];
      if (p.grad().defined()) p.mutable_grad().copy_(r.slice(i));
      else p.mutable_grad() = r.slice(i).clone();
    }
  }
  r.sync = false;
}

}  // namespace sculpt
