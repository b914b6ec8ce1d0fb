// How a token is drawn from a model's distribution, shared by the drafter (each next token) and
// the refiner (each masked position's prediction), with their defaults.
//
//   SamplerParams greedy;  greedy.temperature = 0;   // argmax
#pragma once

#include <cstdint>

#include "core/config.h"

namespace sculpt {

// Filters apply in the order of Hugging Face transformers and llama.cpp: repetition penalty ->
// temperature -> top-k -> top-p -> min-p (core/sampler.h).
struct SamplerParams {
  double temperature = 0.8;         // logits are divided by it; 0 = greedy (argmax)
  int top_k = 0;                    // keep the k most likely tokens; 0 = off
  double top_p = 1.0;               // nucleus: smallest set with cumulative prob >= top_p; 1 = off
  double min_p = 0.0;               // drop tokens with prob < min_p * max prob; 0 = off
  double repetition_penalty = 1.0;  // CTRL (Keskar et al. 2019) on context tokens; 1 = off
  int64_t seed = 0;                 // seed of the generator the sampler draws from

  template <class V>
  void visit(V& v) {
    v.field("temperature", temperature, "softmax temperature; 0 = greedy", Range{0, 100});
    v.field("top_k", top_k, "keep the k most likely tokens; 0 = off", Range::at_least(0));
    v.field("top_p", top_p, "nucleus mass, in (0, 1]; 1 = off", Range{0, 1});
    v.field("min_p", min_p, "drop tokens below min_p * max prob; 0 = off", Range{0, 1});
    v.field("repetition_penalty", repetition_penalty,
            "CTRL penalty on tokens already in the context, in (0, 100]; 1 = off", Range{0, 100});
    v.field("seed", seed, "sampling seed", Range::at_least(0));
  }
  // Checks the ranges above, including the open bounds top_p > 0 and repetition_penalty > 0;
  // throws sculpt::Error.
  void validate() const;
};

}  // namespace sculpt
