// Writing and swapping in training checkpoints; see train_checkpoint.h.
#include "train/train_checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/tokenizer_files.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

void rename_or_fail(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) fail(from, "cannot rename to ", to, ": ", errno_text(errno));
}

bool is_tokenizer_file(const std::string& name) {
  const std::vector<std::string>& names = tokenizer_file_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A hard link (no copy) when possible, else an atomic copy.
void link_or_copy(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return;
  write_file_atomic(to, read_file(from, size_t(1) << 40));
}

}  // namespace

void write_training_checkpoint(const std::string& out_dir, const WeightsWriter& write_weights,
                               const std::string& optimizer_bytes, const std::string& state_json) {
  const std::string tmp = out_dir + "/checkpoint-tmp", tmp_state = tmp + "/trainer_state";
  fs::remove_all(tmp);
  make_directories(tmp_state);
  const std::vector<std::string> files = write_weights(tmp);
  for (const std::string& name : files)
    if (!is_tokenizer_file(name)) link_or_copy(tmp + "/" + name, tmp_state + "/" + name);
  write_file_atomic(tmp_state + "/optimizer.pt", optimizer_bytes);
  write_file_atomic(tmp_state + "/state.json", state_json);  // last: marks the state complete
  fsync_directory(tmp_state);
  fsync_directory(tmp);

  const std::string live = out_dir + "/trainer_state", old = out_dir + "/trainer_state.old";
  fs::remove_all(old);
  if (fs::exists(live)) rename_or_fail(live, old);
  rename_or_fail(tmp_state, live);
  fsync_directory(out_dir);
  fs::remove_all(old);
  for (const std::string& name : files) rename_or_fail(tmp + "/" + name, out_dir + "/" + name);
  fsync_directory(out_dir);
  fs::remove_all(tmp);
}

std::string find_trainer_state(const std::string& out_dir) {
  const std::string live = out_dir + "/trainer_state", old = out_dir + "/trainer_state.old";
  if (!fs::exists(live + "/state.json") && fs::exists(old + "/state.json")) rename_or_fail(old, live);
  return fs::exists(live + "/state.json") ? live : "";
}

}  // namespace sculpt
