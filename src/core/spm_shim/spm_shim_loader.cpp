// Opening the sentencepiece shim with dlmopen(); see spm_shim_loader.h and tokenizer.cpp.
#include "core/spm_shim/spm_shim_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace sculpt {
namespace {

constexpr const char* kShimWhere = "sentencepiece shim";

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The directory holding the running executable, or "" if /proc is unavailable.
std::string executable_dir() {
  std::string buf(PATH_MAX, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  const size_t slash = buf.rfind('/');
  return slash == std::string::npos ? "" : buf.substr(0, slash);
}

}  // namespace
}  // namespace sculpt

// Defined only in programs built against an installed package (SculptConfig.cmake compiles a
// one-line source into them that says where that package keeps the shim); null elsewhere.
extern "C" const char sculpt_installed_spm_shim_path[] __attribute__((weak));

namespace sculpt {
namespace {

// Where to look, in order: $SCULPT_SPM_SHIM alone if set (an explicit choice must not silently
// fall back); otherwise the installed package the program was built against, the build tree,
// the lib dir beside a relocated install's bin dir, and the configured install path.
std::vector<std::string> shim_candidates() {
  const char* env = std::getenv("SCULPT_SPM_SHIM");
  if (env != nullptr && *env != '\0') return {env};
  std::vector<std::string> paths;
  if (sculpt_installed_spm_shim_path != nullptr) paths.push_back(sculpt_installed_spm_shim_path);
  paths.push_back(SCULPT_SPM_SHIM_BUILD_PATH);
  const std::string install = SCULPT_SPM_SHIM_INSTALL_PATH;
  const std::string exe_dir = executable_dir();
  if (!exe_dir.empty()) {  // bin/ (a program) or libexec/sculpt/ (the CLI) of a relocated install
    const std::string file = install.substr(install.rfind('/') + 1);
    paths.push_back(exe_dir + "/../lib/" + file);
    paths.push_back(exe_dir + "/../../lib/" + file);
  }
  paths.push_back(install);
  return paths;
}

template <class Fn>
void resolve(void* handle, const char* name, Fn* out, std::string* error) {
  *out = reinterpret_cast<Fn>(::dlsym(handle, name));
  if (*out == nullptr && error->empty()) error->append(str_cat("missing symbol ", name));
}

// Never throws for a missing or broken shim: the outcome, good or bad, is cached so the process
// makes exactly one dlmopen attempt (each attempt may use up a namespace).
SpmShim open_shim() {
  SpmShim shim;
  const std::vector<std::string> candidates = shim_candidates();
  for (const std::string& path : candidates) {
    if (file_exists(path)) {
      shim.path = path;
      break;
    }
  }
  if (shim.path.empty()) {
    std::string tried;
    for (const std::string& path : candidates) tried += (tried.empty() ? "" : ", ") + path;
    shim.error = str_cat(kShimWhere, ": cannot find libsculpt_spm_shim.so (tried ", tried,
                         "; set SCULPT_SPM_SHIM to its path)");
    return shim;
  }
  void* handle = ::dlmopen(LM_ID_NEWLM, shim.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    shim.error = str_cat(kShimWhere, ": dlmopen(", shim.path, ") failed: ",
                         why != nullptr ? why : "unknown error");
    return shim;
  }
  // The handle is never closed: models may live until exit, and unloading a namespace whose
  // libstdc++ has started threads is not worth the risk.
  std::string missing;
  resolve(handle, "sculpt_spm_abi_version", &shim.abi_version, &missing);
  resolve(handle, "sculpt_spm_train", &shim.train, &missing);
  resolve(handle, "sculpt_spm_load", &shim.load, &missing);
  resolve(handle, "sculpt_spm_free", &shim.free, &missing);
  resolve(handle, "sculpt_spm_n_vocab", &shim.n_vocab, &missing);
  resolve(handle, "sculpt_spm_special_id", &shim.special_id, &missing);
  resolve(handle, "sculpt_spm_piece_kind", &shim.piece_kind, &missing);
  resolve(handle, "sculpt_spm_piece_to_id", &shim.piece_to_id, &missing);
  resolve(handle, "sculpt_spm_id_to_piece", &shim.id_to_piece, &missing);
  resolve(handle, "sculpt_spm_encode", &shim.encode, &missing);
  resolve(handle, "sculpt_spm_decode", &shim.decode, &missing);
  if (!missing.empty()) {
    shim.error = str_cat(kShimWhere, ": ", shim.path, " is not a sculpt_spm_shim (", missing, ")");
  } else if (shim.abi_version() != SCULPT_SPM_ABI_VERSION) {
    shim.error = str_cat(kShimWhere, ": ", shim.path, " has ABI version ", shim.abi_version(),
                         ", this build needs ", SCULPT_SPM_ABI_VERSION,
                         " (a stale install? set SCULPT_SPM_SHIM)");
  }
  return shim;
}

}  // namespace

const SpmShim& spm_shim() {
  static const SpmShim opened = open_shim();
  if (!opened.error.empty()) throw Error(opened.error);
  return opened;
}


}  // namespace sculpt
