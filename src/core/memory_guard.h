// Refusing an allocation that cannot fit, with a clear error, instead of being killed by the
// kernel's out-of-memory killer halfway through. Used before the big buffers: key/value caches,
// attention scores over long inputs or canvases, logits.
//
//   check_memory("kv cache", KvCache::bytes_for(...), "lower the batch or the new tokens");
#pragma once

#include <cstdint>
#include <string>

namespace sculpt {

// Bytes this process can still take: MemAvailable (/proc/meminfo), lowered to what the
// cgroup v2 limit leaves (memory.max - memory.current) when one is set; -1 if unknown.
int64_t available_memory_bytes();

// Throws Error("<what>: needs X GiB but only Y GiB of memory are available; <hint>") when
// `bytes` exceeds what is available. Requests under 64 MiB are not checked: reading /proc
// costs more than they risk.
void check_memory(const std::string& what, int64_t bytes, const std::string& hint);

}  // namespace sculpt
