// Tiny models for tests that need trained ones: a corpus of templated sentences
// (make_document), a tokenizer trained on it, and small drafters or refiners trained on it in
// seconds; plus random-weight models of a given shape.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <sstream>
#include <string>

#include "train/tokenizer_training.h"
#include "core/tokenizer.h"
#include "train/trainer.h"
#include "support/test_util.h"

namespace sculpt::testing {

// Writes n_docs documents into <dir>/corpus/ and trains <dir>/tok.model (300 pieces) on them.
inline void make_template_corpus(const TempDir& dir, int n_docs, int n_sentences = 6) {
  std::string all;
  for (int i = 0; i < n_docs; ++i) {
    const std::string doc = make_document(uint32_t(i), n_sentences);
    write_file(dir.file("corpus/doc_" + std::to_string(1000 + i) + ".txt"), doc);
    all += doc + "\n";
  }
  write_file(dir.file("tok.txt"), all);
  TokenizerTrainParams tp;
  tp.input_files = {dir.file("tok.txt")};
  tp.model_prefix = dir.file("tok");
  tp.vocab_size = 300;
  tp.n_threads = 2;
  train_tokenizer(tp);
}

// The shape most unit tests use: 2 layers of width 32 (4 heads over 2 kv heads, SwiGLU of 64),
// contexts of 64; causal unless the caller says otherwise. Weights are the caller's business.
inline ModelConfig small_model_config(int64_t vocab_size) {
  ModelConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  return c;
}

// A small model trained on <dir>/corpus into <dir>/<name>: causal next-token (a drafter) or,
// with bidirectional attention, masked diffusion with visible-token noise (a refiner). `adjust`
// may change the config before training (a mixture of experts, say).
inline TrainResult train_tiny_model(const TempDir& dir, const std::string& name, AttentionMode attention, int steps,
                                    int hidden = 64, int context = 128, int seq_len = 48,
                                    const std::function<void(TrainConfig&)>& adjust = {}) {
  TrainConfig cfg;
  cfg.model.hidden_size = hidden;
  cfg.model.intermediate_size = 2 * hidden;
  cfg.model.num_hidden_layers = 2;
  cfg.model.num_attention_heads = 4;
  cfg.model.num_key_value_heads = 2;
  cfg.model.max_position_embeddings = context;
  cfg.model.attention = attention;
  cfg.runtime.seed = 3;
  cfg.runtime.n_threads = 2;
  cfg.data.corpus = dir.file("corpus");
  cfg.data.validation_fraction = 0.05;
  cfg.data.seq_len = seq_len;
  cfg.train.out_dir = dir.file(name);
  cfg.train.tokenizer = dir.file("tok.model");
  cfg.train.objective =
      attention == AttentionMode::kCausal ? TrainObjective::kNextToken : TrainObjective::kMaskedDiffusion;
  cfg.train.diffusion.visible_noise = 0.1;
  cfg.train.batch_size = 16;
  cfg.train.lr = 1e-2;
  cfg.train.min_lr = 1e-3;
  cfg.train.warmup_steps = 20;
  cfg.train.max_steps = steps;
  cfg.train.eval_every = 0;
  cfg.train.save_every = 0;
  cfg.train.log_every = 1000;
  if (adjust) adjust(cfg);
  std::ostringstream log;
  TrainOptions options;
  options.log = &log;
  return train(cfg, options);
}

// Fills every parameter of `model` with normal(0, std) from `seed`: peaked enough (std ~0.3)
// that argmax ties are rare in tests comparing two computations.
inline void randomise_weights(torch::nn::Module& model, uint64_t seed, double std = 0.3) {
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (auto& p : model.parameters()) p.normal_(0.0, std);
}

}  // namespace sculpt::testing
