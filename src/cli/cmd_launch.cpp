// `sculpt launch`: runs a command as the ranks of a multi-process job (cli/launcher.h).
#include <algorithm>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/launcher.h"

namespace sculpt::cli {
namespace {

int launch(const std::vector<std::string>& args) {
  // Everything after "--" is the command; the launcher's own options come before it.
  const auto dashes = std::find(args.begin(), args.end(), "--");
  const std::vector<std::string> own(args.begin(), dashes);
  const std::vector<std::string> command(dashes == args.end() ? args.end() : dashes + 1, args.end());
  LaunchParams p;
  po::options_description options("options");
  options.add_options()
      ("nproc", po::value<int>(&p.nproc)->default_value(p.nproc), "processes on this machine")
      ("nnodes", po::value<int>(&p.nnodes)->default_value(p.nnodes), "machines in the job, each running `sculpt launch`")
      ("node-rank", po::value<int>(&p.node_rank)->default_value(p.node_rank), "this machine's index (0 hosts the rendezvous)")
      ("master-addr", po::value<std::string>(&p.master_addr)->default_value(p.master_addr), "address of node 0")
      ("master-port", po::value<int>(&p.master_port)->default_value(p.master_port), "rendezvous port; 0 = a free one (one machine)")
      ("threads", po::value<int>(&p.threads)->default_value(p.threads), "threads per process; 0 = cores / nproc")
      ("grace", po::value<double>(&p.grace_s)->default_value(p.grace_s), "seconds between SIGTERM and SIGKILL when stopping ranks");
  po::variables_map vm;
  if (!parse_options(own, "sculpt launch --nproc N [--nnodes M --node-rank K --master-addr A --master-port P] -- COMMAND...\n"
                          "  e.g. sculpt launch --nproc 2 -- sculpt train --config configs/train/default_drafter.yaml",
                     options, vm))
    return 0;
  if (dashes == args.end() || command.empty()) throw UsageError{"no command: give it after --, e.g. -- sculpt train --config FILE"};
  if (p.grace_s < 0) throw UsageError{"--grace must be at least 0"};
  return launch_processes(p, command, std::cerr);
}

}  // namespace

std::vector<Command> launch_commands() {
  return {{"launch", "run a command as N data-parallel ranks (torchrun's environment; stops all if one fails)", launch}};
}

}  // namespace sculpt::cli
