// Trained test fixtures made once per build of a test program. A suite whose set-up trains models
// would train them again for each of its tests, and in every process that runs them (a re-run, a
// --gtest_filter run); with the cache the first set-up trains and the others copy its folder.
//
//   sculpt::testing::cached_fixture("pipeline_models", *dir_, [](const TempDir& d) { ... });
//
// Training is deterministic (tests/hybrid/test_determinism.cpp), so a copy is the folder the
// set-up would have made. The key is the fixture's name and the test program's path, size and
// modification time: a rebuild (any code change linked into it) makes a new entry and removes
// the old one. Entries live in <build>/test_fixture_cache/; an flock serialises processes that
// start together (ctest -j). SCULPT_TEST_FIXTURE_CACHE=0 turns the cache off.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/content_hash.h"
#include "support/test_util.h"

namespace sculpt::testing {

namespace fixture_cache_detail {

// "<program>-<name>-": the prefix every entry of this fixture of this program has.
inline std::string entry_prefix(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/exe").filename().string() + "-" + name + "-";
}

// The build identity of the running test program, as a hex string.
inline std::string program_stamp() {
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  const std::string stamp = exe.string() + ":" + std::to_string(std::filesystem::file_size(exe)) + ":" +
                            std::to_string(std::filesystem::last_write_time(exe).time_since_epoch().count());
  return fnv1a_hex(stamp);
}

// Holds an exclusive flock on a file for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + path);
  }
  ~FileLock() { ::close(fd_); }  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace fixture_cache_detail

// Fills `dir` (fresh and empty) with what make(dir) makes, from the cache when this build of
// the program made it before.
inline void cached_fixture(const std::string& name, const TempDir& dir, const std::function<void(const TempDir&)>& make) {
  namespace fs = std::filesystem;
  const char* off = std::getenv("SCULPT_TEST_FIXTURE_CACHE");
  if (off && std::string(off) == "0") return make(dir);

  const fs::path root = fs::path(SCULPT_BINARY_DIR) / "test_fixture_cache";
  fs::create_directories(root);
  const std::string prefix = fixture_cache_detail::entry_prefix(name);
  const fs::path entry = root / (prefix + fixture_cache_detail::program_stamp());
  const fixture_cache_detail::FileLock lock((root / (prefix + "lock")).string());
  const auto options = fs::copy_options::recursive | fs::copy_options::copy_symlinks;
  if (fs::exists(entry / ".complete")) {
    fs::copy(entry, dir.path(), options | fs::copy_options::overwrite_existing);
    fs::remove(fs::path(dir.path()) / ".complete");
    return;
  }
  make(dir);
  std::error_code ignored;
  for (const fs::directory_entry& old : fs::directory_iterator(root)) {  // earlier builds' entries
    const std::string file = old.path().filename().string();
    if (old.is_directory() && file.rfind(prefix, 0) == 0) fs::remove_all(old.path(), ignored);
  }
  const fs::path tmp = entry.string() + ".tmp";
  fs::copy(dir.path(), tmp, options);
  write_file((tmp / ".complete").string(), "");
  fs::rename(tmp, entry);
}

}  // namespace sculpt::testing
