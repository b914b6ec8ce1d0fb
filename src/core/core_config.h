// The core sections of a Sculpt YAML config: what training a model needs (architecture,
// tokenizer, runtime, data, optimisation). The root config, hybrid/sculpt_config.h, adds the
// sections of the subsystems above the core (drafting, retrieval, refinement) to these.
//
//   CoreConfig cfg;
//   load_config("configs/model/tiny.yaml", {"model.num_hidden_layers=4"}, cfg);
//   std::cout << dump_config(cfg);
#pragma once

#include <cstdint>

#include "core/config.h"
#include "core/distributed.h"
#include "core/lora.h"
#include "core/model_config.h"
#include "core/token_shards.h"
#include "core/tokenizer.h"
#include "core/trainer.h"

namespace sculpt {

// Process-wide settings.
struct RuntimeParams {
  int n_threads = 0;   // LibTorch intra-op threads; 0 = all cores
  int64_t seed = 0;    // seed for weight initialisation and sampling

  template <class V>
  void visit(V& v) {
    v.field("n_threads", n_threads, "compute threads; 0 = all cores", Range{0, 1024});
    v.field("seed", seed, "random seed", Range::at_least(0));
  }
};


struct CoreConfig {
  ModelConfig model;                // architecture of a model to create (`sculpt model init`)
  TokenizerTrainParams tokenizer;   // `sculpt tokenizer train`
  RuntimeParams runtime;
  DataParams data;                  // corpus and shards (`sculpt train`)
  TrainParams train;                // `sculpt train`
  DistributedParams distributed;    // several processes (`sculpt launch`, torchrun variables)
  LoraParams lora;                  // adapters of `sculpt finetune`

  template <class V>
  void visit(V& v) {
    v.section("model", model, "transformer architecture (Hugging Face config.json names)");
    v.section("tokenizer", tokenizer, "sentencepiece tokenizer training");
    v.section("runtime", runtime, "threads and seeds");
    v.section("data", data, "training corpus, token shards and window length");
    v.section("train", train, "optimisation, checkpoints and logging");
    v.section("distributed", distributed, "multi-process runs: rendezvous timeout, gradient buckets");
    v.section("lora", lora, "LoRA adapters trained by sculpt finetune (PEFT layout)");
  }
};

}  // namespace sculpt
