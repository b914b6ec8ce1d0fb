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

struct Communicator::PendingSum::Impl {
  c10::intrusive_ptr<c10d::Work> work;
  std::chrono::milliseconds timeout{0};
  std::string what;  // for messages
};

Communicator::PendingSum::PendingSum(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::PendingSum::PendingSum(PendingSum&&) noexcept = default;
Communicator::PendingSum& Communicator::PendingSum::operator=(PendingSum&&) noexcept = default;
Communicator::PendingSum::~PendingSum() = default;

void Communicator::PendingSum::wait() {
  if (!impl_ || !impl_->work) return;
  try {
    impl_->work->wait(impl_->timeout);
  } catch (const std::exception& e) {
    fail(impl_->what, "failed (a peer exited or timed out): ", first_line(e));
  }
  impl_->work.reset();
}

Communicator::PendingSum Communicator::all_reduce_sum_async(const at::Tensor& tensor, const std::string& what) {
  auto pending = std::make_unique<PendingSum::Impl>();
  pending->timeout = impl_->timeout;
  pending->what = what;
  std::vector<at::Tensor> tensors{tensor};
  try {
    pending->work = impl_->group->allreduce(tensors);
  } catch (const std::exception& e) {
    fail(what, "failed (a peer exited): ", first_line(e));
  }
  return PendingSum(std::move(pending));
}

}  // namespace sculpt
