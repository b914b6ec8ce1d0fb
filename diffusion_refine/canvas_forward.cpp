// The refiner's forward passes: no cache, prefix cache, or the cache of everything outside the
// spans; on the CPU kernels or on LibTorch.
#include "diffusion_refine/canvas_forward.h"

#include <ATen/ATen.h>

#include <numeric>
#include <optional>

#include "core/error.h"
#include "core/fast_decoder_weights.h"

namespace sculpt {
namespace {

at::Tensor long_tensor(const std::vector<int64_t>& v) { return at::tensor(v, at::TensorOptions().dtype(at::kLong)); }

std::vector<int64_t> range(int64_t begin, int64_t end) {
  std::vector<int64_t> v(size_t(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

}  // namespace

CanvasForward::CanvasForward(TransformerImpl& model, int64_t n, RefineCache mode, DecodeBackend backend)
    : model_(model), mode_(mode), n_(n) {
  const ModelConfig& c = model.config();
  shift_ = c.logits_alignment == LogitsAlignment::kShifted ? 1 : 0;
  if (mode == RefineCache::kSpans && c.attention != AttentionMode::kBidirectional)
    fail("refine.cache", "spans needs a bidirectional refiner: under causal or block-causal attention use prefix");
  if (backend == DecodeBackend::kAuto)
    if (std::optional<FastDecoderModel> fast = fast_decoder_model(model)) {
      fast_ = std::make_unique<FastDecoder>(std::move(fast->shape), std::move(fast->weights), /*batch=*/1, n);
      return;
    }
  if (mode != RefineCache::kNone)
    cache_ = std::make_unique<KvCache>(c.num_hidden_layers, /*batch=*/1, c.n_kv_heads(), n, c.n_head_dim());
}

CanvasForward::~CanvasForward() = default;

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
  computed_.clear();
  full_order_.clear();
  for (int64_t i = 0; i < n_; ++i) (computed[size_t(i)] ? computed_ : full_order_).push_back(i);
  full_order_.insert(full_order_.end(), computed_.begin(), computed_.end());
  spans_ready_ = true;
}

int64_t CanvasForward::n_recomputed() const {
  if (mode_ == RefineCache::kSpans) return spans_ready_ ? int64_t(computed_.size()) : n_;
  return n_ - prefix_;
}

at::Tensor CanvasForward::logits_at(const at::Tensor& tokens, const std::vector<int64_t>& positions) {
  ++n_forward_;
  // The pass: the canvas positions `run`, in the order of their slots, after the cache's first
  // `kept` slots; the cache keeps `keep` slots afterwards. A full pass starts the cache afresh.
  const bool cached = mode_ == RefineCache::kSpans || (mode_ == RefineCache::kPrefix && prefix_ > 0);
  const bool full = refresh_ || !cached;
  refresh_ = false;
  std::vector<int64_t> run;
  int64_t kept = 0, keep = 0;
  if (mode_ == RefineCache::kSpans) {
    // A full pass runs the canvas reordered, cached positions first: under bidirectional
    // attention with explicit positions (RoPE) the order of the slots does not matter.
    if (!spans_ready_) fail("refine", "the span cache needs begin_block first (internal error)");
    keep = n_ - int64_t(computed_.size());
    run = full ? full_order_ : computed_;
    kept = full ? 0 : keep;
  } else {
    keep = cached ? prefix_ : 0;
    kept = full ? 0 : keep;
    run = range(kept, n_);
  }
  std::vector<int64_t> row_of(size_t(n_), -1);  // the pass's row computing each canvas position
  for (size_t i = 0; i < run.size(); ++i) row_of[size_t(run[i])] = int64_t(i);
  // The row that predicts each position asked for: under kSpans one of the changing positions
  // (the rows after the cached ones in a full pass), as later passes compute only those.
  const int64_t first_row = mode_ == RefineCache::kSpans && full ? keep : 0;
  std::vector<int64_t> rows(positions.size());
  for (size_t j = 0; j < positions.size(); ++j) {
    const int64_t at = positions[j] - shift_;
    rows[j] = at >= 0 && at < n_ ? row_of[size_t(at)] : -1;
    if (rows[j] < first_row)
      fail("refine", "position ", positions[j], " is not among those the pass computes (internal error)");
  }

  if (fast_) {
    const at::Tensor flat = tokens.reshape({-1}).to(at::kLong).contiguous();
    const int64_t* canvas = flat.data_ptr<int64_t>();
    std::vector<int64_t> run_tokens(run.size());
    for (size_t i = 0; i < run.size(); ++i) run_tokens[i] = canvas[run[i]];
    if (full) fast_->reset();
    at::Tensor logits = at::empty({int64_t(rows.size()), model_.config().vocab_size}, at::kFloat);
    fast_->forward(run_tokens.data(), run.data(), int64_t(run.size()), nullptr, rows.data(), int64_t(rows.size()),
                   logits.data_ptr<float>());
    fast_->truncate(keep);
    return logits;
  }
  ForwardArgs args;
  args.cache = cached ? cache_.get() : nullptr;
  if (cached && full) cache_->reset();
  at::Tensor run_tokens;
  if (mode_ == RefineCache::kSpans) {
    const at::Tensor order = long_tensor(run);
    args.positions = order.unsqueeze(0);
    run_tokens = tokens.index_select(/*dim=*/1, order);
  } else {
    run_tokens = tokens.narrow(/*dim=*/1, kept, n_ - kept);
  }
  const at::Tensor hidden = model_.hidden_states(run_tokens, args);
  if (cached) cache_->truncate(keep);
  return model_.logits(hidden.select(/*dim=*/0, 0).index_select(/*dim=*/0, long_tensor(rows)));
}

}  // namespace sculpt
