// `sculpt draft` without LibTorch: the `sculpt` launcher (cli/sculpt_launcher.cpp) runs this
// program for `draft`. A draft the CPU kernels compute (KernelDrafter, ar_draft/kernel_drafter.h),
// greedy or sampled, is served here, from the model's file as stored, in a process that starts
// in milliseconds and holds little more than the weights; anything else (--backend libtorch,
// --no-cache, a model the kernels do not compute, --help, a usage error, a missing model) goes
// to the command-line program beside it, which loads LibTorch and serves or reports it. Both
// read the same options and print the same output (cli/draft_command.h).
#include <limits.h>
#include <unistd.h>

#include <boost/program_options/errors.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "ar_draft/kernel_drafter.h"
#include "cli/draft_command.h"

namespace {

// Replaces this process with the command-line program (`sculpt` in this program's directory),
// with the same arguments. Returns only if it cannot.
int run_full_program(char** argv) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "sculpt draft: error: cannot find its own path (/proc/self/exe): %s\n", std::strerror(errno));
    return 1;
  }
  self[n] = '\0';
  const std::string cli = std::string(self, std::string(self).rfind('/')) + "/sculpt";
  ::execv(cli.c_str(), argv);
  std::fprintf(stderr, "sculpt draft: error: cannot run %s: %s\n", cli.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

// argv: the launcher's, "sculpt draft OPTIONS...".
int main(int argc, char** argv) {
  using namespace sculpt;
  using namespace sculpt::cli;
  if (argc < 2 || std::string(argv[1]) != "draft") return run_full_program(argv);
  const std::vector<std::string> args(argv + 2, argv + argc);
  po::variables_map vm;
  DraftParams params;
  std::optional<KernelDrafter> drafter;
  try {
    po::options_description options = draft_options();
    options.add_options()("help,h", "show this help");
    po::store(po::command_line_parser(args).options(options).run(), vm);
    if (vm.count("help")) return run_full_program(argv);
    po::notify(vm);
    params = draft_params(vm);
    std::string why_not;
    if (!KernelDrafter::serves(params, &why_not)) return run_full_program(argv);
    drafter = KernelDrafter::open(vm["model"].as<std::string>(), &why_not);
    if (!drafter) return run_full_program(argv);
  } catch (...) {  // the command-line program reports bad usage and bad values, as for any command
    return run_full_program(argv);
  }
  try {
    const DraftPrinter printer(vm["prompt"].as<std::string>(), vm["json"].as<bool>());
    DraftStats stats;
    const DraftResult r = drafter->draft(vm["prompt"].as<std::string>(), params, printer.on_token(), &stats);
    printer.finish(r, stats, params);
    return 0;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sculpt draft: error: out of memory\n");
  } catch (const std::exception& e) {
    const std::string what = e.what();
    std::fprintf(stderr, "sculpt draft: error: %s\n", what.substr(0, what.find('\n')).c_str());
  }
  return 1;
}
