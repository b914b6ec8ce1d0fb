// When a running request must stop: its client went away, its deadline passed, or the server is
// shutting down. The pipeline asks after every forward pass (PipelineObserver::stop_requested).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "server/client_connection.h"

namespace sculpt::server {

class RequestGuard {
 public:
  RequestGuard(const ClientConnection& client, double timeout_s, const std::atomic<bool>& stopping)
      : client_(client), deadline_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s))),
        stopping_(stopping) {}

  bool stop_requested() {
    if (!reason_.empty()) return true;
    if (stopping_) reason_ = "shutdown";
    else if (std::chrono::steady_clock::now() > deadline_) reason_ = "timeout";
    else if (client_.gone()) reason_ = "client_gone";
    return !reason_.empty();
  }
  // "" while running; else shutdown, timeout or client_gone.
  const std::string& reason() const { return reason_; }

 private:
  const ClientConnection& client_;
  std::chrono::steady_clock::time_point deadline_;
  const std::atomic<bool>& stopping_;
  std::string reason_;
};

}  // namespace sculpt::server
