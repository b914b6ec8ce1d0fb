// Crash-safe training checkpoints. A checkpoint is written whole into out_dir/checkpoint-tmp/
// (every file fsynced), then swapped in by renames: trainer_state/ first (it is
// self-contained), then the model files over the old ones. A kill at any moment leaves either
// the old checkpoint or the new one, and find_trainer_state() finishes a swap a kill
// interrupted between its two renames.
//
// out_dir layout: the model directory (config.json + model.safetensors + the tokenizer files, or a
// fine-tune's adapter_config.json + adapter_model.safetensors) and trainer_state/ (hard links
// of the same weight files, optimizer.pt, state.json with the step and the sampler's state).
//
//   write_training_checkpoint(out_dir, write_weights, optimizer_bytes, state_json);
//   std::string state = find_trainer_state(out_dir);   // "" = nothing to resume
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sculpt {

// Fills a directory with the weights (a model directory or an adapter folder) and returns the
// names of the files it wrote.
using WeightsWriter = std::function<std::vector<std::string>(const std::string& dir)>;

// Writes and swaps in one checkpoint; state_json goes to trainer_state/state.json, last, so
// that its presence marks a complete state. Throws Error naming the file that failed.
void write_training_checkpoint(const std::string& out_dir, const WeightsWriter& write_weights,
                               const std::string& optimizer_bytes, const std::string& state_json);

// Where the resumable state is (out_dir/trainer_state), or "" if there is none; recovers from
// a kill between the two renames of a swap.
std::string find_trainer_state(const std::string& out_dir);

}  // namespace sculpt
