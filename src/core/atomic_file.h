// Crash-safe file replacement: write to a temporary file beside the target, fsync it, rename it
// over the target, fsync the directory. A process killed at any moment leaves either the old
// file or the new one, never a torn mix. The temporary file is <path>.tmp.<pid>; one left by a
// writer that was killed (its pid no longer runs) is removed by the next writer of the path.
//
//   AtomicFile out("model.safetensors");
//   out.write(header.data(), header.size());
//   out.commit();  // without commit() the destructor removes the temporary file
#pragma once

#include <cstddef>
#include <string>

namespace sculpt {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws Error if the temp file cannot be created
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n_bytes);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Flushes, fsyncs and renames over the target. After commit() no more writes are allowed.
  void commit();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Makes the directory's entries (files created, renamed or removed in it) durable: fsync on
// the directory. Throws Error naming it when it cannot be opened or synced; a filesystem that
// does not sync directories (EINVAL) is not an error.
void fsync_directory(const std::string& dir);

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, const std::string& contents);

// Reads a whole file; throws Error naming the path if it cannot. Refuses files over max_bytes.
std::string read_file(const std::string& path, size_t max_bytes = size_t(1) << 30);

}  // namespace sculpt
