// The server's concurrency limit: `parallel` requests generate at once and up to `queue` more
// wait for a slot; a request beyond that is turned away at once (503 with Retry-After), so the
// server never piles up work it cannot do.
//
//   SlotGate gate(/*parallel=*/2, /*queue=*/8);
//   SlotGate::Lease lease = gate.enter([&] { return client_gone(); });   // throws ApiError 503
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace sculpt::server {

class SlotGate {
 public:
  SlotGate(int parallel, int queue) : parallel_(parallel), queue_(queue) {}

  // Holds a slot; releases it when destroyed.
  class Lease {
   public:
    explicit Lease(SlotGate* gate) : gate_(gate) {}
    Lease(Lease&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    SlotGate* gate_;
  };

  // A slot, waiting for one while every slot is busy. Throws ApiError 503 (Retry-After) when
  // the queue is full, when give_up() turns true while waiting (the client left), or when the
  // gate is closing.
  Lease enter(const std::function<bool()>& give_up);
  // Wakes the waiting requests and turns them away (the server is shutting down).
  void close();

  int running() const;
  int waiting() const;

 private:
  void leave();

  const int parallel_, queue_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int running_ = 0, waiting_ = 0;
  bool closed_ = false;
};

}  // namespace sculpt::server
