// The ModelTrainer (core/model_trainer.h) of programs that link training: trains from a
// training config with overrides, as `sculpt train` would, into a given model directory.
//
//   ConfigTrainer trainer;
//   trainer.train("configs/train/default_refiner.yaml", {"train.max_steps=200"}, "build/v/refiner", std::cerr);
#pragma once

#include "core/model_trainer.h"

namespace sculpt {

class ConfigTrainer : public ModelTrainer {
 public:
  std::string resolve(const std::string& config_path, const std::vector<std::string>& overrides) const override;
  // A finished model is marked by <model_dir>.trained holding a hash of the resolved config.
  double train(const std::string& config_path, const std::vector<std::string>& overrides,
               const std::string& model_dir, std::ostream& log) override;
};

}  // namespace sculpt
