// Training a Transformer on token shards: next-token cross-entropy or the masked-diffusion
// bound (core/masked_diffusion.h), AdamW, warm-up + cosine
// learning rate, gradient accumulation and clipping, periodic validation, crash-safe resumable
// checkpoints.
//
//   CoreConfig cfg;  load_config("configs/train/tiny_drafter.yaml", {}, cfg);
//   TrainResult r = train(cfg, TrainOptions{/*resume=*/false});
//   Transformer model = load_transformer(cfg.train.out_dir);
//
// out_dir layout: config.json + model.safetensors + tokenizer.model (a model directory, loadable
// at any moment; a fine-tune writes adapter_config.json + adapter_model.safetensors instead, the
// PEFT layout) and trainer_state/ (config.json + model.safetensors hard links of the same
// weights, optimizer.pt, state.json with step and sampler state). A checkpoint is written whole
// into out_dir/checkpoint-tmp/ (every file fsynced), then trainer_state/ is swapped in by rename
// and the model files are renamed over the old ones, so a kill loses at most the last interval.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/masked_diffusion.h"
#include "core/transformer.h"

namespace sculpt {

struct CoreConfig;

enum class TrainObjective {
  kNextToken,        // autoregressive next-token cross-entropy (the drafter)
  kMaskedDiffusion,  // masked-diffusion bound (the refiner; core/masked_diffusion.h)
};

struct TrainParams {
  std::string out_dir;    // model directory to write (and trainer_state/ inside it)
  std::string tokenizer;  // tokenizer.model used for the shards and copied into out_dir
  // "" = fresh weights from the `model:` section; else a model directory. With masked_diffusion,
  // its weights are adapted (DiffuLLaMA-style): attention, block_size, logits_alignment and
  // max_position_embeddings come from the `model:` section, the mask token from the tokenizer.
  std::string init_from;
  TrainObjective objective = TrainObjective::kNextToken;
  MaskedDiffusionParams diffusion;  // used by objective masked_diffusion
  int64_t batch_size = 16;     // windows per micro-batch
  int64_t grad_accum = 1;      // micro-batches per optimizer step
  double lr = 1e-3;            // peak learning rate, reached at the end of warm-up
  double min_lr = 1e-4;        // learning rate at the end of the cosine decay
  int64_t warmup_steps = 100;  // linear warm-up steps
  int64_t max_steps = 1000;    // optimizer steps in the whole run
  double weight_decay = 0.1;   // decoupled (AdamW); never applied to norms or biases
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;      // max global gradient L2 norm; 0 = no clipping
  // Residual and attention dropout while training (TransformerImpl::set_dropout); 0 = off.
  // Regularises a model too large for its corpus; inference and exports are unaffected.
  double dropout = 0.0;
  int64_t eval_every = 200;    // steps between validation passes; 0 = only at the end
  int64_t eval_batches = 0;    // validation batches of batch_size windows; 0 = all of valid
  int64_t save_every = 500;    // steps between checkpoints; 0 = only at the end
  int64_t log_every = 10;      // steps between log lines (and train_log.jsonl records)

  template <class V>
  void visit(V& v) {
    v.field("out_dir", out_dir, "output model directory (with trainer_state/ for --resume)");
    v.field("tokenizer", tokenizer, "path to tokenizer.model");
    v.field("init_from", init_from, "model directory to start from; empty = fresh initialisation");
    v.field("objective", objective, "training objective",
            Choices<TrainObjective>{{"next_token", TrainObjective::kNextToken},
                                    {"masked_diffusion", TrainObjective::kMaskedDiffusion}});
    v.section("diffusion", diffusion, "masked-diffusion objective (objective: masked_diffusion)");
    v.field("batch_size", batch_size, "windows per micro-batch", Range{1, 1 << 20});
    v.field("grad_accum", grad_accum, "micro-batches per optimizer step", Range{1, 1 << 20});
    v.field("lr", lr, "peak learning rate", Range{0.0, 10.0});
    v.field("min_lr", min_lr, "final learning rate of the cosine decay", Range{0.0, 10.0});
    v.field("warmup_steps", warmup_steps, "linear warm-up steps", Range::at_least(0));
    v.field("max_steps", max_steps, "optimizer steps", Range{1, int64_t(1) << 40});
    v.field("weight_decay", weight_decay, "AdamW decoupled weight decay (not on norms/biases)", Range{0.0, 10.0});
    v.field("beta1", beta1, "AdamW beta1", Range{0.0, 0.999999});
    v.field("beta2", beta2, "AdamW beta2", Range{0.0, 0.999999});
    v.field("grad_clip", grad_clip, "max gradient norm; 0 = off", Range::at_least(0.0));
    v.field("dropout", dropout, "residual and attention dropout while training; 0 = off", Range{0.0, 0.99});
    v.field("eval_every", eval_every, "steps between validation passes; 0 = at the end only", Range::at_least(0));
    v.field("eval_batches", eval_batches, "validation batches; 0 = all of valid", Range::at_least(0));
    v.field("save_every", save_every, "steps between checkpoints; 0 = at the end only", Range::at_least(0));
    v.field("log_every", log_every, "steps between log lines", Range{1, int64_t(1) << 40});
  }

  // Cross-field checks (min_lr <= lr, warmup_steps <= max_steps); throws Error.
  void validate() const;
  // validate() plus the fields a run needs (out_dir, tokenizer); throws Error.
  void validate_complete() const;
};

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
  // are trained and out_dir becomes a PEFT adapter folder (core/lora.h) instead of a model.
  bool finetune = false;
  int64_t stop_at_step = 0;    // stop (with a checkpoint) once this step is done; 0 = max_steps
  std::ostream* log = nullptr; // progress lines; nullptr = std::cerr
  // Data-parallel training (core/distributed.h); nullptr = this process alone. train.batch_size
  // stays the global micro-batch: every rank draws the same windows and noise and trains on
  // its own batch_size / world_size rows of them, gradients are averaged over ranks, so the
  // run is the single-process run up to floating-point reduction order (with train.dropout 0:
  // each rank draws its own dropout masks). Rank 0 alone logs and
  // writes checkpoints; every rank resumes from out_dir (a shared filesystem across machines).
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
TrainResult train(const CoreConfig& cfg, const TrainOptions& options = {});

}  // namespace sculpt
