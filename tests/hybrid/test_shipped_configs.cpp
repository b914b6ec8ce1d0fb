// Every YAML file under configs/ loads with the loader that reads it: pipeline, hub and retrieval
// configs as a PipelineConfig, train, fine-tune, model and bench configs as a TrainConfig
// (unknown keys and bad values are errors), ablation files
// through load_ablation, which also applies every variant's overrides to its base config. A
// shipped config that a change of keys or defaults broke fails here, not in a user's run.
// The ablations name the evaluator and the strong baseline, which are rebuilt rather than
// shipped (scripts/train_defaults.sh): the test runs in a folder where those names point at the
// shipped drafter, which passes the same checks (a causal model directory).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "hybrid/ablation.h"
#include "hybrid/pipeline_config.h"
#include "train/config_trainer.h"
#include "train/train_config.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

TEST(ShippedConfigsTest, EveryConfigLoads) {
  const fs::path root = SCULPT_SOURCE_DIR;
  // Config paths are relative to the working directory, as in the CLI.
  const fs::path work = fs::temp_directory_path() / ("sculpt_shipped_configs_" + std::to_string(getpid()));
  fs::remove_all(work);
  fs::create_directories(work / "models");
  fs::create_directory_symlink(root / "configs", work / "configs");
  fs::create_directory_symlink(root / "data", work / "data");
  for (const char* shipped : {"drafter", "refiner"})
    fs::create_directory_symlink(root / "models" / shipped, work / "models" / shipped);
  for (const char* rebuilt : {"evaluator", "ar_base"})
    fs::create_directory_symlink(root / "models" / "drafter", work / "models" / rebuilt);
  ASSERT_EQ(chdir(work.c_str()), 0);
  int n_configs = 0, n_ablations = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string rel = "configs/" + fs::relative(entry.path(), root / "configs").string();
    SCOPED_TRACE(rel);
    try {
      if (rel.rfind("configs/ablations/", 0) == 0) {
        ConfigTrainer trainer;  // checks the overrides of variants that retrain a model
        const AblationSpec spec = load_ablation(rel, &trainer);
        EXPECT_FALSE(spec.variants.empty());
        ++n_ablations;
      } else if (rel.rfind("configs/pipeline/", 0) == 0 || rel.rfind("configs/retrieval/", 0) == 0 ||
                 rel.rfind("configs/hub/", 0) == 0) {
        PipelineConfig cfg;
        load_config(rel, {}, cfg);
        ++n_configs;
      } else {
        TrainConfig cfg;
        load_config(rel, {}, cfg);
        ++n_configs;
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  // Not vacuous: the shipped pipeline, train and fine-tune configs and the ablations.
  EXPECT_GE(n_configs, 10);
  EXPECT_GE(n_ablations, 5);
  ASSERT_EQ(chdir(root.c_str()), 0);
  fs::remove_all(work);
}

}  // namespace
}  // namespace sculpt
