// `sculpt config show|keys`: the effective configuration and the list of every key.
#include <iostream>

#include "cli/cli_util.h"

namespace sculpt::cli {
namespace {

int config_show(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt config show [FILE] [--set section.key=value ...]", options, vm, &positional)) return 0;
  std::cout << dump_config(read_config(vm));
  return 0;
}

int config_keys(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::variables_map vm;
  if (!parse_options(args, "sculpt config keys", options, vm)) return 0;
  std::cout << describe_config(SculptConfig{});
  return 0;
}

}  // namespace

std::vector<Command> config_commands() {
  return {{"config show", "print the effective config (file + --set overrides), with docs", config_show},
          {"config keys", "list every config key with its type, default and meaning", config_keys}};
}

}  // namespace sculpt::cli
