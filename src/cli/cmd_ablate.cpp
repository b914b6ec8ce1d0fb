// `sculpt ablate`: runs an ablation file (hybrid/ablation.h): every variant over one evaluation
// set, finished variants kept across interruptions, results.csv / results.md / report.html.
#include <unistd.h>

#include <cstdio>

#include "cli/cli_util.h"
#include "hybrid/ablation.h"
#include "hybrid/pipeline_config.h"
#include "train/config_trainer.h"

namespace sculpt::cli {
namespace {

int ablate(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("file", po::value<std::string>()->required(), "the ablation file (configs/ablations/NAME.yaml)")
      ("out", po::value<std::string>(), "output folder (default: the file's out_dir)")
      ("rerun", po::bool_switch(), "run every variant again, even those with a matching result")
      ("threads", po::value<int>(), "compute threads (default: the base config's runtime.n_threads)");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt ablate configs/ablations/NAME.yaml [--out DIR] [--rerun]", options, vm, &positional))
    return 0;
  ConfigTrainer trainer;  // for variants that retrain a model
  AblationSpec spec = load_ablation(vm["file"].as<std::string>(), &trainer);
  if (vm.count("out")) spec.out_dir = vm["out"].as<std::string>();
  PipelineConfig base;
  load_config(spec.base, {}, base);
  if (vm.count("threads")) base.runtime.n_threads = vm["threads"].as<int>();
  apply_runtime(base.runtime);
  AblationOptions run_options;
  run_options.rerun = vm["rerun"].as<bool>();
  run_options.trainer = &trainer;
  run_options.log = &std::cerr;
  run_options.rewrite_line = ::isatty(STDERR_FILENO);
  const AblationResult r = run_ablation(spec, run_options);
  int reused = 0;
  for (const VariantResult& v : r.variants) reused += v.reused;
  std::printf("%zu variants (%d kept from an earlier run): %s, %s, %s\n", r.variants.size(), reused,
              r.csv_path.c_str(), r.markdown_path.c_str(), r.html_path.c_str());
  return 0;
}

}  // namespace

std::vector<Command> ablate_commands() {
  return {{"ablate", "run an ablation: variants of a pipeline config over one evaluation set, with a report", ablate}};
}

}  // namespace sculpt::cli
