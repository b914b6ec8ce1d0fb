// Prometheus text of the server's counters; see metrics.h.
#include "server/metrics.h"

#include <cstdio>
#include <sstream>

namespace sculpt::server {

const std::vector<double> Metrics::kBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

void Metrics::record_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++latency_buckets_[i];
  latency_sum_ += seconds;
  ++latency_count_;
}

void Metrics::record_generation(int64_t n_prompt_tokens, const PipelineTrace& trace) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += n_prompt_tokens;
  predicted_tokens_ += trace.n_generated;
  generation_seconds_ += trace.seconds;
  edited_ += int64_t(trace.edits.size());
  for (const StageTiming& s : trace.stages) {
    if (s.name == "draft") drafted_ += s.n_tokens;
    if (s.name == "refine") remasked_ += s.n_tokens;
    if (s.n_forward > 0) forward_passes_[s.name] += s.n_forward;
  }
}

void Metrics::set_queue(int64_t running, int64_t waiting) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = running;
  waiting_ = waiting;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  metric("llamacpp:prompt_tokens_total", "counter", "Prompt tokens processed.");
  out << "llamacpp:prompt_tokens_total " << prompt_tokens_ << "\n";
  metric("llamacpp:tokens_predicted_total", "counter", "Tokens written into responses.");
  out << "llamacpp:tokens_predicted_total " << predicted_tokens_ << "\n";
  metric("llamacpp:tokens_predicted_seconds_total", "counter", "Seconds spent generating.");
  out << "llamacpp:tokens_predicted_seconds_total " << generation_seconds_ << "\n";
  metric("llamacpp:requests_processing", "gauge", "Requests generating now.");
  out << "llamacpp:requests_processing " << running_ << "\n";
  metric("llamacpp:requests_deferred", "gauge", "Requests waiting for a slot.");
  out << "llamacpp:requests_deferred " << waiting_ << "\n";
  metric("sculpt:tokens_drafted_total", "counter", "Tokens the drafter wrote.");
  out << "sculpt:tokens_drafted_total " << drafted_ << "\n";
  metric("sculpt:tokens_remasked_total", "counter", "Draft tokens re-masked for the refiner.");
  out << "sculpt:tokens_remasked_total " << remasked_ << "\n";
  metric("sculpt:tokens_edited_total", "counter", "Draft tokens the refiner changed.");
  out << "sculpt:tokens_edited_total " << edited_ << "\n";
  metric("sculpt:forward_passes_total", "counter", "Forward passes, by pipeline stage.");
  for (const auto& [stage, n] : forward_passes_) out << "sculpt:forward_passes_total{stage=\"" << stage << "\"} " << n << "\n";
  metric("sculpt:requests_total", "counter", "Requests by route and HTTP status.");
  for (const auto& [key, n] : requests_)
    out << "sculpt:requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
  metric("sculpt:request_duration_seconds", "histogram", "Wall time of requests, from arrival to the last byte.");
  for (size_t i = 0; i < kBounds.size(); ++i) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", kBounds[i]);
    out << "sculpt:request_duration_seconds_bucket{le=\"" << bound << "\"} " << latency_buckets_[i] << "\n";
  }
  out << "sculpt:request_duration_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n";
  out << "sculpt:request_duration_seconds_sum " << latency_sum_ << "\n";
  out << "sculpt:request_duration_seconds_count " << latency_count_ << "\n";
  return out.str();
}

}  // namespace sculpt::server
