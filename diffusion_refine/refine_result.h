// What a refinement returns and reports while it runs: the refined canvas, each denoising step
// as it happens, and a trace of the work.
#pragma once

#include <cstdint>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// One denoising step, reported as it finishes.
struct RefineStep {
  int64_t step = 0;                // 0-based over the whole refinement
  std::vector<int64_t> committed;  // canvas positions written at this step
  std::vector<TokenId> tokens;     // what was written there
  std::vector<float> confidence;   // the refiner's probability of each written token
  std::vector<int64_t> remasked;   // written positions re-masked by editing
  int64_t n_masked = 0;            // positions still masked after the step
};

// One position whose token differs from the input canvas at the end.
struct TokenChange {
  int64_t position = 0;   // canvas position
  TokenId old_token = 0;  // the input canvas's (draft) token
  TokenId new_token = 0;
};

// What a refinement did.
struct RefineTrace {
  int64_t n_forward = 0;                    // forward passes, the prefix pass included
  std::vector<int64_t> committed_per_step;  // masked positions written at each step
  std::vector<int64_t> remasked_per_step;   // written tokens re-masked by editing at each step
  int64_t n_remasked = 0;                   // sum of remasked_per_step
  std::vector<TokenChange> changes;         // final differences from the input, ascending position
  std::vector<int64_t> commit_step;         // per canvas position: step that wrote its final token; -1 = not written
  int64_t n_prefix_cached = 0;              // context positions served from the prefix cache (0 = off);
                                            // later semi-AR blocks also cache the blocks before them
  int64_t n_recomputed = 0;                 // canvas positions a pass after a block's first runs
  double seconds = 0;                       // wall time of the refinement
  bool on_kernels = false;                  // Sculpt's CPU kernels computed the passes (else LibTorch)
};

struct RefineResult {
  std::vector<TokenId> tokens;  // the refined canvas (same length; frozen positions untouched)
  RefineTrace trace;
};

}  // namespace sculpt
