// `sculpt train`: next-token or masked-diffusion training of a model directory from a YAML config (core/trainer.h).
#include <cstdio>

#include "cli/cli_util.h"
#include "core/trainer.h"

namespace sculpt::cli {
namespace {

int train_run(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()("resume", po::bool_switch(), "continue from <train.out_dir>/trainer_state");
  po::variables_map vm;
  if (!parse_options(args, "sculpt train --config configs/train/NAME.yaml [--set section.key=V] [--resume]",
                     options, vm))
    return 0;
  const SculptConfig cfg = read_config(vm);
  TrainOptions train_options;
  train_options.resume = vm["resume"].as<bool>();
  const TrainResult result = train(cfg, train_options);
  std::printf("trained %s to step %lld", cfg.train.out_dir.c_str(), (long long)result.last_step);
  if (result.valid_loss >= 0) std::printf(", validation loss %.4f", result.valid_loss);
  std::printf("\n");
  return 0;
}

}  // namespace

std::vector<Command> train_commands();

std::vector<Command> train_commands() {
  return {{"train", "train a model on a text corpus (next-token or masked-diffusion objective)", train_run}};
}

}  // namespace sculpt::cli
