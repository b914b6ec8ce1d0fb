// The refiner's forward passes: no cache, prefix cache, or the cache of everything outside the spans.
#include "diffusion_refine/canvas_forward.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace sculpt {
namespace {

at::Tensor long_tensor(const std::vector<int64_t>& v) { return at::tensor(v, at::TensorOptions().dtype(at::kLong)); }

}  // namespace

CanvasForward::CanvasForward(TransformerImpl& model, int64_t n, RefineCache mode) : model_(model), mode_(mode), n_(n) {
  const ModelConfig& c = model.config();
  shift_ = c.logits_alignment == LogitsAlignment::kShifted ? 1 : 0;
  if (mode == RefineCache::kSpans && c.attention != AttentionMode::kBidirectional)
    fail("refine.cache", "spans needs a bidirectional refiner: under causal or block-causal attention use prefix");
  if (mode != RefineCache::kNone)
    cache_ = std::make_unique<KvCache>(c.num_hidden_layers, /*batch=*/1, c.n_kv_heads(), n, c.n_head_dim());
}

void CanvasForward::begin_block(int64_t prefix, const std::vector<int64_t>& changing) {
  prefix_ = mode_ == RefineCache::kPrefix ? prefix : 0;
  refresh_ = true;
  if (mode_ != RefineCache::kSpans) return;
  std::vector<uint8_t> computed(size_t(n_), 0);
  for (int64_t i : changing) {
    if (i < 0 || i >= n_) fail("refine", "changing position ", i, " is outside the canvas of ", n_);
    computed[size_t(i)] = 1;
    if (i - shift_ >= 0) computed[size_t(i - shift_)] = 1;
  }
  std::vector<int64_t> cached, run;
  row_.assign(size_t(n_), -1);
  for (int64_t i = 0; i < n_; ++i) {
    if (computed[size_t(i)]) {
      row_[size_t(i)] = int64_t(run.size());
      run.push_back(i);
    } else {
      cached.push_back(i);
    }
  }
  computed_ = long_tensor(run);
  cached.insert(cached.end(), run.begin(), run.end());
  full_order_ = long_tensor(cached);
}

int64_t CanvasForward::n_recomputed() const {
  if (mode_ == RefineCache::kSpans) return computed_.defined() ? computed_.numel() : n_;
  return n_ - prefix_;
}

at::Tensor CanvasForward::logits_at(const at::Tensor& tokens, const std::vector<int64_t>& positions) {
  ++n_forward_;
  std::vector<int64_t> rows(positions.size());  // row of `hidden` that predicts each position
  at::Tensor hidden;                            // [1, rows computed, hidden]
  ForwardArgs args;
  args.cache = cache_.get();
  const bool full = refresh_ || !cache_;
  refresh_ = false;
  if (mode_ == RefineCache::kSpans) {
    // A full pass runs the canvas reordered, cached positions first: under bidirectional
    // attention with explicit positions (RoPE) the order of the slots does not matter.
    if (!computed_.defined()) fail("refine", "the span cache needs begin_block first (internal error)");
    const int64_t n_cached = n_ - computed_.numel();
    const at::Tensor order = full ? full_order_ : computed_;
    if (full) cache_->reset();
    args.positions = order.unsqueeze(0);
    hidden = model_.hidden_states(tokens.index_select(/*dim=*/1, order), args);
    cache_->truncate(n_cached);
    for (size_t j = 0; j < positions.size(); ++j) {
      const int64_t row = row_[size_t(positions[j] - shift_)];
      if (row < 0) fail("refine", "position ", positions[j], " was not declared as changing (internal error)");
      rows[j] = row + (full ? n_cached : 0);
    }
  } else {
    int64_t offset = 0;  // canvas position of the first hidden state computed
    if (!cache_ || prefix_ == 0) {
      args.cache = nullptr;
      hidden = model_.hidden_states(tokens, args);
    } else {
      if (full) {
        cache_->reset();
        hidden = model_.hidden_states(tokens, args);
      } else {
        offset = prefix_;
        hidden = model_.hidden_states(tokens.narrow(/*dim=*/1, prefix_, tokens.size(1) - prefix_), args);
      }
      cache_->truncate(prefix_);
    }
    for (size_t j = 0; j < positions.size(); ++j) rows[j] = positions[j] - shift_ - offset;
  }
  return model_.logits(hidden.select(/*dim=*/0, 0).index_select(/*dim=*/0, long_tensor(rows)));
}

}  // namespace sculpt
