// `sculpt`: sets the thread environment (cli/thread_environment.h), then runs the command-line
// program in this process (libexec/sculpt/sculpt beside it in the build tree, or the installed
// libexec directory relative to the installed bin directory). The program links LibTorch, whose
// loading takes about 0.4 s; with the variables set before it loads, it need not restart itself
// to set them, which halves the start-up of every command. `sculpt draft` runs sculpt-draft beside
// it instead (cli/draft_main.cpp), which serves drafts on the CPU kernels without loading
// LibTorch at all and hands everything else to the command-line program.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/thread_environment.h"

int main(int /*argc*/, char** argv) {
  sculpt::cli::set_thread_environment();
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "sculpt: error: cannot find its own path (/proc/self/exe): %s\n", std::strerror(errno));
    return 1;
  }
  self[n] = '\0';
  const std::string dir(self, std::string(self).rfind('/'));
  const bool draft = argv[1] != nullptr && std::strcmp(argv[1], "draft") == 0;
  std::string tried;
  for (const char* relative : {SCULPT_BUILD_TREE_CLI, SCULPT_INSTALLED_CLI}) {
    const std::string cli = dir + "/" + relative + (draft ? "-draft" : "");
    if (::access(cli.c_str(), X_OK) == 0) {
      ::execv(cli.c_str(), argv);
      std::fprintf(stderr, "sculpt: error: cannot run %s: %s\n", cli.c_str(), std::strerror(errno));
      return 1;
    }
    tried += (tried.empty() ? "" : " nor ") + cli;
  }
  std::fprintf(stderr, "sculpt: error: the command-line program is missing: no %s (reinstall Sculpt)\n", tried.c_str());
  return 1;
}
