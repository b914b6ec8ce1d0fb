// A 64-bit FNV-1a hash as 16 hex digits: identifies a resolved config or a prompt in files that
// a later run checks before reusing what an earlier one wrote (resumable ablations and batch
// generation). Not cryptographic.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace sculpt {

inline std::string fnv1a_hex(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

}  // namespace sculpt
