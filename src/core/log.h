// Where the library's messages go: warnings (a value clamped, a file skipped) and progress
// lines of long work (tokenizing a corpus). By default they are written to stderr, one line
// each; an embedding program that owns its own output installs a sink instead.
//
//   sculpt::set_log_sink([](sculpt::LogLevel level, const std::string& line) { my_log(line); });
//   sculpt::log_warning("max_tokens clamped to 96");   // -> the sink, or "warning: ..." on stderr
#pragma once

#include <functional>
#include <string>

namespace sculpt {

enum class LogLevel {
  kInfo,     // progress of long work
  kWarning,  // something was skipped or adjusted; the work goes on
};

// Receives one line (no trailing newline). Called from whichever thread logs; a sink shared by
// threads must be thread-safe.
using LogSink = std::function<void(LogLevel level, const std::string& line)>;

// Replaces the sink for the whole process; an empty sink restores the default (stderr).
void set_log_sink(LogSink sink);

void log_info(const std::string& line);
void log_warning(const std::string& line);  // the default sink prefixes "warning: "

}  // namespace sculpt
