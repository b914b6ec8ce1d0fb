// AtomicFile: temp file + fsync + rename + directory fsync.
#include "core/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/error.h"

namespace sculpt {
namespace {

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Temporary files of `path` left by writers that were killed (SIGKILL, power loss): named
// <path>.tmp.<pid> with a pid that no longer runs. A live writer's file is left alone.
void remove_stale_temp_files(const std::string& path) {
  const std::string dir = parent_dir(path);
  const std::string prefix = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (::kill(pid_t(pid), 0) == -1 && errno == ESRCH) ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  remove_stale_temp_files(path_);
  temp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, "cannot create temporary file ", temp_path_, ": ", errno_text(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n_bytes) {
  if (committed_) fail(path_, "write after commit");
  const char* p = static_cast<const char*>(data);
  while (n_bytes > 0) {
    ssize_t n = ::write(fd_, p, n_bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path_, "cannot write: ", errno_text(errno));
    }
    p += n;
    n_bytes -= size_t(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (::fsync(fd_) != 0) fail(path_, "cannot fsync: ", errno_text(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail(path_, "cannot close: ", errno_text(errno));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail(path_, "cannot rename ", temp_path_, " over it: ", errno_text(errno));
  committed_ = true;
  fsync_directory(parent_dir(path_));
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open directory to fsync: ", errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // A filesystem that cannot sync directories (EINVAL) has nothing to flush there.
  if (rc != 0 && err != EINVAL) fail(dir, "cannot fsync directory: ", errno_text(err));
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile out(path);
  out.write(contents);
  out.commit();
}

std::string read_file(const std::string& path, size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, "cannot open: ", errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, expected a file");
  if (size_t(st.st_size) > max_bytes)
    fail(path, "file is ", st.st_size, " bytes, more than the limit of ", max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: ", errno_text(errno));
  std::string data(size_t(st.st_size), '\0');
  in.read(data.data(), std::streamsize(data.size()));
  if (size_t(in.gcount()) != data.size()) fail(path, "short read");
  return data;
}

}  // namespace sculpt
