// The forward passes of one refinement and what they cache between steps (internal to the
// refiner; its own file so that the caches can be tested against recomputation).
//
//   CanvasForward forward(model, n, RefineCache::kSpans);
//   forward.begin_block(prefix, writable_positions);      // next pass: the whole canvas
//   at::Tensor logits = forward.logits_at(tokens, positions);  // later passes: only what changes
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/decode_backend.h"
#include "core/kv_cache.h"
#include "core/transformer.h"
#include "diffusion_refine/refine_params.h"
#include "kernels/fast_decoder.h"

namespace sculpt {

// The modes (RefineCache, refine_params.h): kNone runs the whole canvas every pass; kPrefix's
// first pass of a block caches positions [0, prefix) and later passes run [prefix, n); kSpans's
// first pass caches every position that cannot change (nor predicts one that can), and later
// passes run only the changing positions against them (bidirectional only).
//
// Under block-causal attention a block-aligned prefix cache is exact: its keys and values are
// what a full pass computes. Under bidirectional attention every cached position would also
// have seen the tokens written since, so both caches are approximations (Fast-dLLM's prefix and
// dual caches, Wu et al. 2025), refreshed at every block and by refresh().
//
// The passes run on Sculpt's CPU kernels (FastDecoder, with its own cache) when the backend is
// kAuto and the model allows (core/fast_decoder_weights.h), else on LibTorch; both compute the
// same passes and caches.
class CanvasForward {
 public:
  // A canvas of n positions. Throws Error for kSpans under attention that is not bidirectional
  // (the cached keys are stored out of canvas order, which only an unmasked pattern allows).
  CanvasForward(TransformerImpl& model, int64_t n, RefineCache mode, DecodeBackend backend = DecodeBackend::kAuto);
  ~CanvasForward();

  // Starts a block: the next pass runs the whole canvas. `prefix` bounds kPrefix's cache;
  // `changing` (ascending canvas positions) is what kSpans recomputes, together with the
  // position before each one under shifted logits (the one that predicts it).
  void begin_block(int64_t prefix, const std::vector<int64_t>& changing);
  // The next pass runs the whole canvas again and renews the cache.
  void refresh() { refresh_ = true; }

  // Logits [positions.size(), vocab] predicting the tokens at `positions` of `tokens` [1, n];
  // under kSpans every position asked for must be among `changing`.
  at::Tensor logits_at(const at::Tensor& tokens, const std::vector<int64_t>& positions);

  int64_t n_forward() const { return n_forward_; }
  bool on_kernels() const { return fast_ != nullptr; }
  // Positions a pass after the first runs (the canvas length without a cache).
  int64_t n_recomputed() const;

 private:
  TransformerImpl& model_;
  RefineCache mode_;
  int64_t n_ = 0;
  int64_t shift_ = 0;
  int64_t prefix_ = 0;
  int64_t n_forward_ = 0;
  bool refresh_ = true;
  std::unique_ptr<KvCache> cache_;     // LibTorch's, when it computes and mode_ caches
  std::unique_ptr<FastDecoder> fast_;  // the kernels' pass and cache, when they compute
  // kSpans: the canvas positions a later pass runs, ascending; a full pass runs the others
  // first (cached), then these.
  std::vector<int64_t> computed_;
  std::vector<int64_t> full_order_;
  bool spans_ready_ = false;
};

}  // namespace sculpt
