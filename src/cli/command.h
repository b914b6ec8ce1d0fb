// The sculpt CLI's subcommands: each parses its own options (Boost.Program_options) and returns
// an exit code. Errors are thrown as sculpt::Error and turned into one line by main().
#pragma once

#include <string>
#include <vector>

namespace sculpt::cli {

// Thrown for bad command-line usage: main() prints it with a hint to --help and exits with 2.
struct UsageError {
  std::string message;
};

struct Command {
  const char* name;     // "model info"
  const char* summary;  // one line for `sculpt --help`
  int (*run)(const std::vector<std::string>& args);  // args after the command name
};

// Each cmd_*.cpp contributes its commands.
std::vector<Command> model_commands();
std::vector<Command> tokenizer_commands();
std::vector<Command> config_commands();
std::vector<Command> draft_commands();
std::vector<Command> bench_commands();
std::vector<Command> bench_refine_commands();
std::vector<Command> bench_moe_commands();
std::vector<Command> train_commands();
std::vector<Command> refine_commands();
std::vector<Command> generate_commands();
std::vector<Command> ablate_commands();
std::vector<Command> retrieval_commands();
std::vector<Command> launch_commands();
std::vector<Command> bench_train_commands();
std::vector<Command> lora_commands();
std::vector<Command> serve_commands();
std::vector<Command> bench_serve_commands();
std::vector<Command> bench_fix_commands();
std::vector<Command> bench_load_commands();

}  // namespace sculpt::cli
