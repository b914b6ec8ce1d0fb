// The concurrency limit; see slot_gate.h.
#include "server/slot_gate.h"

#include <chrono>

#include "server/api_error.h"

namespace sculpt::server {

SlotGate::Lease::~Lease() {
  if (gate_) gate_->leave();
}

SlotGate::Lease SlotGate::enter(const std::function<bool()>& give_up) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) throw ApiError{503, "the server is shutting down", "server_busy", "", ""};
  if (running_ >= parallel_) {
    if (waiting_ >= queue_)
      throw ApiError{503, "the server is busy: every slot is generating and the queue is full; retry later",
                     "server_busy", "", ""};
    ++waiting_;
    // Wakes on a freed slot; checks every 100 ms whether the waiting client is still there.
    while (running_ >= parallel_ && !closed_ && !(give_up && give_up()))
      freed_.wait_for(lock, std::chrono::milliseconds(100));
    --waiting_;
    if (closed_) throw ApiError{503, "the server is shutting down", "server_busy", "", ""};
    if (running_ >= parallel_) throw ApiError{499, "the client closed the connection while waiting", "cancelled", "", ""};
  }
  ++running_;
  return Lease(this);
}

void SlotGate::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
  freed_.notify_one();
}

void SlotGate::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  freed_.notify_all();
}

int SlotGate::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int SlotGate::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

}  // namespace sculpt::server
