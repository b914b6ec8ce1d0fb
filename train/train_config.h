// A training config: the sections `sculpt train`, `sculpt finetune`, `sculpt model init` and
// `sculpt bench train` read (architecture, tokenizer, runtime, data, optimisation, processes,
// LoRA). Pipeline configs (hybrid/pipeline_config.h) are the other kind of Sculpt config file.
//
//   TrainConfig cfg;
//   load_config("configs/train/tiny_drafter.yaml", {"train.max_steps=10"}, cfg);
//   TrainResult r = train(cfg);
#pragma once

#include "core/config.h"
#include "core/distributed_params.h"
#include "core/lora_params.h"
#include "core/model_config.h"
#include "core/runtime_params.h"
#include "train/data_params.h"
#include "train/tokenizer_training.h"
#include "train/train_params.h"

namespace sculpt {

struct TrainConfig {
  ModelConfig model;                // architecture of a model to create (`sculpt model init`, fresh training)
  TokenizerTrainParams tokenizer;   // `sculpt tokenizer train`
  RuntimeParams runtime;
  DataParams data;                  // corpus and shards
  TrainParams train;
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
