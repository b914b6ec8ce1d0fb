// Training a model from a training config file, as a plug-in for code above the core that
// sometimes needs a model trained (an ablation variant that retrains its refiner) but must not
// link training code itself. train/config_trainer.h implements it; programs that train pass one.
//
//   ConfigTrainer trainer;                                    // train/config_trainer.h
//   run_ablation(spec, {.trainer = &trainer});
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sculpt {

class ModelTrainer {
 public:
  virtual ~ModelTrainer() = default;

  // The effective training config (the file, then "key=value" overrides) as text: everything
  // that determines the model it would train. Throws Error for a missing file or a bad override,
  // naming it; does not train.
  virtual std::string resolve(const std::string& config_path, const std::vector<std::string>& overrides) const = 0;

  // Trains that model into model_dir, resuming a half-done run of the same config, unless a
  // finished one is already there; progress goes to `log`. Returns the seconds spent training
  // (0 when the model was there). Throws Error from training.
  virtual double train(const std::string& config_path, const std::vector<std::string>& overrides,
                       const std::string& model_dir, std::ostream& log) = 0;
};

}  // namespace sculpt
