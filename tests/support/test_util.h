// Helpers shared by the test suite: temporary folders and the Python reference interpreter.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sculpt::testing {

// A fresh folder under /tmp, removed by the test's own process at exit only if empty (kept for
// post-mortems otherwise; /tmp is cleaned by the system).
inline std::string make_temp_dir(const std::string& tag = "sculpt") {
  std::string tmpl = "/tmp/" + tag + "_XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// Runs a shell command, returns its exit status and captures stdout+stderr into *output.
inline int run_command(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True when Debian's python3 with torch and numpy is available for reference tests.
inline bool reference_python_available() {
  static const bool ok = run_command(std::string(SCULPT_REFERENCE_PYTHON) + " -c 'import torch, numpy'") == 0;
  return ok;
}

}  // namespace sculpt::testing
