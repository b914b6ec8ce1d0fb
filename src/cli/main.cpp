// `sculpt`: the command-line entry point. Finds the subcommand, runs it, and turns every error
// into one line on stderr and a non-zero exit code (1 = failure, 2 = bad usage).
#include <c10/util/Exception.h>

#include <boost/program_options/errors.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/thread_environment.h"
#include "core/error.h"

namespace {

std::vector<sculpt::cli::Command> all_commands() {
  std::vector<sculpt::cli::Command> all;
  for (auto group : {sculpt::cli::model_commands, sculpt::cli::tokenizer_commands, sculpt::cli::config_commands,
                     sculpt::cli::train_commands, sculpt::cli::lora_commands, sculpt::cli::launch_commands, sculpt::cli::draft_commands, sculpt::cli::generate_commands,
                     sculpt::cli::refine_commands, sculpt::cli::ablate_commands, sculpt::cli::bench_commands,
                     sculpt::cli::bench_refine_commands, sculpt::cli::bench_moe_commands, sculpt::cli::bench_train_commands, sculpt::cli::retrieval_commands, sculpt::cli::serve_commands,
                     sculpt::cli::bench_serve_commands, sculpt::cli::bench_fix_commands, sculpt::cli::bench_load_commands})
    for (const auto& c : group()) all.push_back(c);
  return all;
}

void print_help(const std::vector<sculpt::cli::Command>& commands) {
  std::printf("usage: sculpt <command> [options]   (sculpt <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : commands) std::printf("  %-18s %s\n", c.name, c.summary);
}

// The first line of a message: LibTorch appends stack traces that users should not see.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

// `sculpt` (cli/sculpt_launcher.cpp) sets the thread environment before this program loads; run
// directly, it sets it and restarts itself, since libgomp and OpenBLAS read it only as they load.
void ensure_thread_environment(char** argv) {
  if (sculpt::cli::set_thread_environment()) ::execv("/proc/self/exe", argv);  // returns only on failure: run as we are
}

int main(int argc, char** argv) {
  ensure_thread_environment(argv);
  const auto commands = all_commands();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(commands);
    return args.empty() ? 2 : 0;
  }
  // Commands are one or two words ("search", "model info"); match the longest.
  const sculpt::cli::Command* found = nullptr;
  size_t words = 0;
  for (const auto& c : commands) {
    const std::string name = c.name;
    if (args.size() >= 2 && name == args[0] + " " + args[1]) { found = &c; words = 2; break; }
    if (name == args[0]) { found = &c; words = 1; }
  }
  if (!found) {
    std::string known;
    for (const auto& c : commands) if (std::string(c.name).rfind(args[0] + " ", 0) == 0) known += std::string(" '") + c.name + "'";
    std::fprintf(stderr, "sculpt: error: unknown command '%s'%s%s (see sculpt --help)\n", args[0].c_str(),
                 known.empty() ? "" : "; did you mean", known.c_str());
    return 2;
  }
  args.erase(args.begin(), args.begin() + long(words));
  // In a multi-process run (sculpt launch, torchrun) each line says which rank wrote it.
  std::string who = found->name;
  if (const char* world = std::getenv("WORLD_SIZE"); world && std::atoi(world) > 1 && std::getenv("RANK"))
    who += std::string(" (rank ") + std::getenv("RANK") + ")";
  const char* name = who.c_str();
  try {
    return found->run(args);
  } catch (const sculpt::cli::UsageError& e) {
    std::fprintf(stderr, "sculpt %s: error: %s (see sculpt %s --help)\n", name, e.message.c_str(), found->name);
    return 2;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "sculpt %s: error: %s (see sculpt %s --help)\n", name, e.what(), found->name);
    return 2;
  } catch (const sculpt::Error& e) {
    std::fprintf(stderr, "sculpt %s: error: %s\n", name, first_line(e.what()).c_str());
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "sculpt %s: error: %s\n", name, first_line(e.what_without_backtrace()).c_str());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sculpt %s: error: out of memory\n", name);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sculpt %s: error: %s\n", name, first_line(e.what()).c_str());
  }
  return 1;
}
