// Available memory from /proc and the cgroup; see memory_guard.h.
#include "core/memory_guard.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace sculpt {
namespace {

// A number from a one-line file ("max" or unreadable: -1).
int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return std::stoll(text);
  } catch (...) {
    return -1;
  }
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(int64_t(1) << 30));
  return buf;
}

}  // namespace

int64_t available_memory_bytes() {
  int64_t available = -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = 0;
    if (fields >> kib) available = kib * 1024;
  }
  // cgroup v2: this process's group (the unified hierarchy is mounted at /sys/fs/cgroup).
  std::ifstream cgroup("/proc/self/cgroup");
  while (std::getline(cgroup, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    const int64_t limit = read_number(dir + "/memory.max"), used = read_number(dir + "/memory.current");
    if (limit > 0 && used >= 0 && (available < 0 || limit - used < available)) available = std::max<int64_t>(0, limit - used);
  }
  return available;
}

void check_memory(const std::string& what, int64_t bytes, const std::string& hint) {
  if (bytes < (int64_t(64) << 20)) return;
  const int64_t available = available_memory_bytes();
  if (available >= 0 && bytes > available)
    fail(what, "needs ", gib(bytes), " but only ", gib(available), " of memory are available; ", hint);
}

}  // namespace sculpt
