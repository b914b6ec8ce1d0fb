// libFuzzer target: YAML config loading (core/config.h) into sections of a training config
// whose checks need no other library (model, tokenizer, data, distributed): any text must load
// (then validate) or throw sculpt::Error, and an accepted config must dump to YAML that loads
// back to the same dump.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/config.h"
#include "core/distributed_params.h"
#include "core/error.h"
#include "core/model_config.h"
#include "train/data_params.h"
#include "train/tokenizer_training.h"

namespace {

struct FuzzConfig {
  sculpt::ModelConfig model;
  sculpt::TokenizerTrainParams tokenizer;
  sculpt::DataParams data;
  sculpt::DistributedParams distributed;

  template <class V>
  void visit(V& v) {
    v.section("model", model, "transformer architecture");
    v.section("tokenizer", tokenizer, "tokenizer training");
    v.section("data", data, "training corpus");
    v.section("distributed", distributed, "multi-process runs");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    FuzzConfig cfg;
    sculpt::load_config_string(text, "fuzz.yaml", cfg);
    const std::string dumped = sculpt::dump_config(cfg);
    FuzzConfig again;
    sculpt::load_config_string(dumped, "dump", again);
    if (sculpt::dump_config(again) != dumped) std::abort();
  } catch (const sculpt::Error&) {
  }
  return 0;
}
