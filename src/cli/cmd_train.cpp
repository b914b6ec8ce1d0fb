// `sculpt train` and `sculpt finetune`: next-token or masked-diffusion training of a model
// directory, or of LoRA adapters on a frozen one, from a training config (train/trainer.h).
#include <unistd.h>

#include <cstdio>

#include "cli/cli_util.h"
#include "core/distributed.h"
#include "train/trainer.h"

namespace sculpt::cli {
namespace {

int run(const std::vector<std::string>& args, bool finetune) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("resume", po::bool_switch(), "continue from <train.out_dir>/trainer_state")
      ("stop-at-step", po::value<int64_t>()->default_value(0),
       "stop with a checkpoint once this step is done (the schedule still spans train.max_steps); 0 = max_steps");
  po::variables_map vm;
  const char* usage = finetune
      ? "sculpt finetune --config configs/finetune/NAME.yaml [--set section.key=V] [--resume] [--stop-at-step N]\n"
        "  trains the `lora:` adapters on the frozen train.init_from model; train.out_dir becomes a PEFT\n"
        "  adapter folder (adapter_config.json + adapter_model.safetensors)"
      : "sculpt train --config configs/train/NAME.yaml [--set section.key=V] [--resume] [--stop-at-step N]\n"
        "  data-parallel: sculpt launch --nproc N -- sculpt train ... (or torchrun's RANK, WORLD_SIZE,\n"
        "  MASTER_ADDR, MASTER_PORT)";
  if (!parse_options(args, usage, options, vm)) return 0;
  const TrainConfig cfg = read_config<TrainConfig>(vm);
  TrainOptions train_options;
  train_options.resume = vm["resume"].as<bool>();
  train_options.finetune = finetune;
  train_options.stop_at_step = vm["stop-at-step"].as<int64_t>();
  train_options.log = &std::cerr;
  train_options.rewrite_line = ::isatty(STDERR_FILENO);
  if (train_options.stop_at_step < 0) throw UsageError{"--stop-at-step must be at least 0"};
  // Started by `sculpt launch` or torchrun: join the others (core/distributed.h).
  const WorldInfo world = world_from_environment();
  std::unique_ptr<Communicator> comm;
  if (world.distributed()) comm = Communicator::connect(world, cfg.distributed);
  train_options.comm = comm.get();
  const TrainResult result = train(cfg, train_options);
  if (world.rank != 0) return 0;
  std::printf("%s %s to step %lld", finetune ? "fine-tuned adapters" : "trained", cfg.train.out_dir.c_str(),
              (long long)result.last_step);
  if (result.valid_loss >= 0) std::printf(", validation loss %.4f", result.valid_loss);
  std::printf("\n");
  return 0;
}

}  // namespace

std::vector<Command> train_commands();

std::vector<Command> train_commands() {
  return {{"train", "train a model on a text corpus (next-token or masked-diffusion objective)",
           [](const std::vector<std::string>& args) { return run(args, /*finetune=*/false); }},
          {"finetune", "train LoRA adapters on a frozen model (PEFT layout), either objective",
           [](const std::vector<std::string>& args) { return run(args, /*finetune=*/true); }}};
}

}  // namespace sculpt::cli
