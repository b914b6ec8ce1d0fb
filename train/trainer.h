// Training a Transformer on token shards: next-token cross-entropy or the masked-diffusion
// bound (train/masked_diffusion.h), AdamW, warm-up + cosine learning rate, gradient accumulation
// and clipping, periodic validation, crash-safe resumable checkpoints (train/train_checkpoint.h:
// out_dir is a loadable model directory at any moment, and a kill loses at most the last
// interval).
//
//   TrainConfig cfg;  load_config("configs/train/tiny_drafter.yaml", {}, cfg);
//   TrainResult r = train(cfg, TrainOptions{/*resume=*/false});
//   Transformer model = load_transformer(cfg.train.out_dir);
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "core/transformer_fwd.h"
#include "train/train_config.h"

namespace sculpt {

// Learning rate for optimizer step `step` (0-based): linear warm-up lr * (step + 1) / warmup_steps
// for step < warmup_steps, then cosine decay (Loshchilov & Hutter 2017, SGDR) from lr to min_lr:
// min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2, t = (step - warmup) / (max_steps - warmup).
// Steps at or past max_steps get min_lr.
double learning_rate(int64_t step, const TrainParams& params);

// Llama's initialisation (HF initializer_range 0.02): normal(0, 0.02) weights, unit norms, zero
// biases; seeded through at::manual_seed(seed).
void initialise_weights(TransformerImpl& model, int64_t seed);

class Communicator;

struct TrainOptions {
  bool resume = false;         // continue from out_dir/trainer_state (required if it exists)
  // LoRA fine-tuning (sculpt finetune): adapters (cfg.lora) on the frozen train.init_from model
  // are trained and out_dir becomes a PEFT adapter folder (train/lora_adapter.h) instead of a model.
  bool finetune = false;
  int64_t stop_at_step = 0;    // stop (with a checkpoint) once this step is done; 0 = max_steps
  std::ostream* log = nullptr; // progress lines; nullptr = the log sink (core/log.h)
  bool rewrite_line = false;   // log is a terminal: the progress line is rewritten in place
  // Data-parallel training (core/distributed.h); nullptr = this process alone. train.batch_size
  // stays the global micro-batch: every rank draws the same windows and noise and trains on
  // its own batch_size / world_size rows of them, gradients are averaged over ranks, so the
  // run is the single-process run up to floating-point reduction order (with train.dropout 0:
  // each rank draws its own dropout masks). Rank 0 alone logs and writes checkpoints; every
  // rank resumes from out_dir (a shared filesystem across machines).
  Communicator* comm = nullptr;
};

struct TrainResult {
  int64_t first_step = 0;  // steps already done when this run started (0 unless resumed)
  int64_t last_step = 0;   // steps done when it ended
  std::vector<double> losses;  // training loss of each step of this run (first_step + 1 ..), over all ranks
  double valid_loss = -1;      // last validation loss; -1 if the validation shard is empty
};

// Runs cfg.train on cfg.data with cfg.model (fresh) or train.init_from; see the file comment for
// what is written. Throws Error for bad configs (naming the field or file), a checkpoint in
// out_dir without resume, or a resume without one.
TrainResult train(const TrainConfig& cfg, const TrainOptions& options = {});

}  // namespace sculpt
