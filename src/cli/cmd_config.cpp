// `sculpt config show|keys`: the effective configuration and the list of every key, for both
// kinds of config file: pipeline configs (hybrid/pipeline_config.h) and training configs
// (train/train_config.h).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>

#include "cli/cli_util.h"
#include "core/error.h"
#include "hybrid/pipeline_config.h"
#include "train/train_config.h"

namespace sculpt::cli {
namespace {

// The sections only a training config has (the others are a pipeline config's, or both's).
const std::set<std::string> kTrainingSections = {"model", "tokenizer", "data", "train", "lora"};
const std::set<std::string> kPipelineSections = {"pipeline", "draft", "spans", "refine", "retrieval"};

// Which kind of config a file is, from its top-level keys; "both" when no section says (an
// empty file, only runtime:). Text that is not YAML fails here, as the loader would fail.
std::string kind_of_file(const std::string& path) {
  std::set<std::string> training, pipeline;
  for (const std::string& key : config_file_sections(path)) {
    if (kTrainingSections.count(key)) training.insert(key);
    if (kPipelineSections.count(key)) pipeline.insert(key);
  }
  if (!training.empty() && !pipeline.empty())
    fail(path, "mixes training sections (", *training.begin(), ") and pipeline sections (", *pipeline.begin(),
         "): a config file is one or the other");
  if (training.empty() && pipeline.empty()) return "both";
  return training.empty() ? "pipeline" : "training";
}

int config_show(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()("kind", po::value<std::string>(),
                        "pipeline or training (default: what the file's sections say; both when they say nothing)");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt config show [FILE] [--kind pipeline|training] [--set section.key=value ...]",
                     options, vm, &positional))
    return 0;
  const std::string path = vm["config"].as<std::string>();
  const std::string kind = vm.count("kind") ? vm["kind"].as<std::string>() : path.empty() ? "both" : kind_of_file(path);
  if (kind != "pipeline" && kind != "training" && kind != "both")
    throw UsageError{"--kind must be pipeline or training, got '" + kind + "'"};
  const bool both = kind == "both";
  if (both) std::cout << "# as a pipeline config (sculpt generate, refine, ablate):\n";
  if (kind != "training") std::cout << dump_config(read_config<PipelineConfig>(vm));
  if (both) std::cout << "\n# as a training config (sculpt train, finetune, model init):\n";
  if (kind != "pipeline") std::cout << dump_config(read_config<TrainConfig>(vm));
  return 0;
}

// Writes the text with as few system calls as the pipe takes (one, below its 64 KiB). Scripts
// ask `sculpt config keys | grep -q KEY` under `set -o pipefail` to learn which keys this
// version knows; written in 4 KiB pieces, the reader would be gone before the last one and the
// SIGPIPE would turn its answer into "no".
void write_at_once(const std::string& text) {
  std::cout.flush();
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("stdout", "write failed: ", std::strerror(errno));
    done += size_t(n);
  }
}

int config_keys(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::variables_map vm;
  if (!parse_options(args, "sculpt config keys", options, vm)) return 0;
  write_at_once(str_cat("Pipeline configs (sculpt generate, refine, ablate, index, search; configs/pipeline/):\n\n",
                        describe_config(PipelineConfig{}),
                        "\nTraining configs (sculpt train, finetune, model init, tokenizer train, bench; configs/train/):\n\n",
                        describe_config(TrainConfig{})));
  return 0;
}

}  // namespace

std::vector<Command> config_commands() {
  return {{"config show", "print the effective config (file + --set overrides), with docs", config_show},
          {"config keys", "list every config key with its type, default and meaning", config_keys}};
}

}  // namespace sculpt::cli
