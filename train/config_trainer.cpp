// ConfigTrainer: training from a config file into a model directory; see config_trainer.h.
#include "train/config_trainer.h"

#include <chrono>
#include <ostream>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/content_hash.h"
#include "train/trainer.h"

namespace sculpt {

std::string ConfigTrainer::resolve(const std::string& config_path, const std::vector<std::string>& overrides) const {
  TrainConfig cfg;
  load_config(config_path, overrides, cfg);
  return dump_config(cfg);
}

double ConfigTrainer::train(const std::string& config_path, const std::vector<std::string>& overrides,
                            const std::string& model_dir, std::ostream& log) {
  TrainConfig cfg;
  load_config(config_path, overrides, cfg);
  cfg.train.out_dir = model_dir;
  const std::string done_marker = model_dir + ".trained";
  const std::string hash = fnv1a_hex(dump_config(cfg));
  if (file_exists(done_marker) && read_file(done_marker) == hash) return 0.0;
  const auto start = std::chrono::steady_clock::now();
  TrainOptions options;
  options.resume = file_exists(model_dir + "/trainer_state") || file_exists(model_dir + "/trainer_state.old");
  options.log = &log;
  log << "[ablate] training " << model_dir << " (" << config_path << (options.resume ? ", resuming" : "") << ")\n";
  sculpt::train(cfg, options);
  write_file_atomic(done_marker, hash);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace sculpt
