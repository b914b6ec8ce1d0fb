// The process-wide log sink; see log.h.
#include "core/log.h"

#include <cstdio>
#include <mutex>

namespace sculpt {
namespace {

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}

LogSink& current_sink() {
  static LogSink sink;
  return sink;
}

void write(LogLevel level, const std::string& line) {
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(sink_mutex());
    sink = current_sink();
  }
  if (sink) {
    sink(level, line);
    return;
  }
  // One fprintf per line, so lines from several threads do not interleave mid-line.
  std::fprintf(stderr, "%s%s\n", level == LogLevel::kWarning ? "warning: " : "", line.c_str());
}

}  // namespace

void set_log_sink(LogSink sink) {
  std::lock_guard<std::mutex> lock(sink_mutex());
  current_sink() = std::move(sink);
}

void log_info(const std::string& line) { write(LogLevel::kInfo, line); }
void log_warning(const std::string& line) { write(LogLevel::kWarning, line); }

}  // namespace sculpt
