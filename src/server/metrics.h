// The server's counters, served by GET /metrics in Prometheus' text format. Names follow
// llama-server's `llamacpp:*` metrics where one exists (prompt and predicted tokens, requests
// processing and deferred); Sculpt's own are `sculpt:*` (tokens drafted, re-masked and edited,
// forward passes per stage, requests by route and status, request latency).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hybrid/pipeline.h"

namespace sculpt::server {

class Metrics {
 public:
  // One finished request: its route ("/v1/completions"), status and wall time.
  void record_request(const std::string& route, int status, double seconds);
  // What one pipeline call did (its prompt's tokens and its trace).
  void record_generation(int64_t n_prompt_tokens, const PipelineTrace& trace);
  void set_queue(int64_t running, int64_t waiting);

  // Everything, in the Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) -> count
  std::vector<int64_t> latency_buckets_ = std::vector<int64_t>(kBounds.size(), 0);
  double latency_sum_ = 0;
  int64_t latency_count_ = 0;
  int64_t prompt_tokens_ = 0, predicted_tokens_ = 0, drafted_ = 0, remasked_ = 0, edited_ = 0;
  double generation_seconds_ = 0;
  std::map<std::string, int64_t> forward_passes_;  // stage -> passes
  int64_t running_ = 0, waiting_ = 0;

  static const std::vector<double> kBounds;  // latency histogram bucket bounds, seconds
};

}  // namespace sculpt::server
