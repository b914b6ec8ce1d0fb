// The `train:` section of a training config: objective, optimiser, schedule and checkpoints,
// with their defaults. Torch-free, so configs and the CLI's help read it without LibTorch.
//
//   train:
//     out_dir: build/models/drafter
//     tokenizer: models/drafter/tokenizer.model
//     objective: masked_diffusion        # or next_token
//     diffusion: {eps: 0.001, visible_noise: 0.1}
//     lr: 1.0e-3
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"

namespace sculpt {

enum class TrainObjective {
  kNextToken,        // autoregressive next-token cross-entropy (the drafter)
  kMaskedDiffusion,  // masked-diffusion bound (the refiner; train/masked_diffusion.h)
};

// The forward process and loss of the masked-diffusion objective (train/masked_diffusion.h).
struct MaskedDiffusionParams {
  double eps = 1e-3;                 // t ~ U(eps, 1): the smallest masking rate drawn
  double prompt_prob = 0.0;          // share of sequences with a clean prefix that is never masked
  double max_prompt_fraction = 0.5;  // that prefix is U{1 .. max_prompt_fraction * L} tokens long
  // Share of the visible (unmasked) tokens replaced by uniformly random tokens. When > 0 the
  // model is also scored on predicting the clean token at every visible position, which is what
  // lets a refiner judge, and so edit, tokens it can see (a draft's errors are such tokens);
  // the pure MDLM bound (0) never trains predictions at visible positions.
  double visible_noise = 0.0;

  template <class V>
  void visit(V& v) {
    v.field("eps", eps, "smallest masking rate t drawn from U(eps, 1)", Range{1e-6, 0.5});
    v.field("prompt_prob", prompt_prob, "share of sequences with a never-masked prefix", Range{0.0, 1.0});
    v.field("max_prompt_fraction", max_prompt_fraction, "longest such prefix, as a share of the window",
            Range{0.0, 0.95});
    v.field("visible_noise", visible_noise,
            "share of visible tokens replaced at random (and then predicted); 0 = pure MDLM", Range{0.0, 0.5});
  }
};

struct TrainParams {
  std::string out_dir;    // model directory to write (and trainer_state/ inside it)
  std::string tokenizer;  // tokenizer.model, tokenizer.json or model directory: for the shards, copied into out_dir
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
    v.field("tokenizer", tokenizer, "its tokenizer: a tokenizer.model, a tokenizer.json or a model directory");
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

  // Cross-field checks (min_lr <= lr); throws Error.
  void validate() const;
  // validate() plus the fields a run needs (out_dir, tokenizer); throws Error.
  void validate_complete() const;
};

}  // namespace sculpt
