// The LibTorch-free forward pass of a Llama-layout decoder; see fast_decoder.h.
#include "kernels/fast_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/memory_guard.h"
#include "kernels/kernels.h"
#include "kernels/thread_pool.h"

namespace sculpt {
namespace {

// Queries are attended in blocks of this many, each against the keys up to its last one, so a
// prefill computes about half the scores of the full square and the scratch stays small.
constexpr int64_t kQueryBlock = 64;

void add_bias(float* x, int64_t rows, int64_t width, const float* bias) {
  if (bias == nullptr) return;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i) x[r * width + i] += bias[i];
}

}  // namespace

FastDecoder::FastDecoder(FastDecoderShape shape, FastDecoderWeights weights, int64_t batch, int64_t capacity)
    : shape_(std::move(shape)), w_(std::move(weights)), batch_(batch), capacity_(capacity) {
  const FastDecoderShape& s = shape_;
  if (s.n_vocab <= 0 || s.hidden <= 0 || s.intermediate <= 0 || s.n_layers <= 0 || s.n_heads <= 0 ||
      s.n_kv_heads <= 0 || s.head_dim <= 0)
    fail("fast decoder", "every size of the model must be positive");
  if (s.n_heads % s.n_kv_heads != 0)
    fail("fast decoder", s.n_heads, " query heads do not divide into ", s.n_kv_heads, " key/value heads");
  if (s.head_dim % 2 != 0 || int64_t(s.inv_freq.size()) != s.head_dim / 2)
    fail("fast decoder", "rotary positions need an even head_dim and head_dim / 2 frequencies");
  if (int64_t(w_.layers.size()) != s.n_layers) fail("fast decoder", "weights for ", w_.layers.size(), " layers, not ", s.n_layers);
  if (batch <= 0 || capacity <= 0) fail("fast decoder", "batch and capacity must be positive");
  // The rotation of every position the cache can hold, from float64 angles as core/rope.cpp
  // computes them, so both passes rotate by the same float32 cos and sin.
  const int64_t half = s.head_dim / 2;
  cos_.resize(size_t(capacity * half));
  sin_.resize(size_t(capacity * half));
  for (int64_t p = 0; p < capacity; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(p) * s.inv_freq[size_t(i)];
      cos_[size_t(p * half + i)] = float(std::cos(angle));
      sin_[size_t(p * half + i)] = float(std::sin(angle));
    }
  const size_t cache = size_t(s.n_layers * batch * s.n_kv_heads * capacity * s.head_dim);
  check_memory("kv cache", int64_t(2 * cache * sizeof(float)),
               str_cat("it holds ", batch, " sequences of ", capacity, " tokens; ask for fewer new tokens or a smaller batch"));
  keys_t_.assign(cache, 0.0f);
  values_.assign(cache, 0.0f);
  scores_.resize(size_t(compute_threads() * kQueryBlock * capacity));
}

int64_t FastDecoder::n_bytes() const {
  size_t n = keys_t_.size() + values_.size() + cos_.size() + sin_.size() + scores_.size();
  for (const std::vector<float>* v : {&x_, &xn_, &q_, &k_, &v_, &attn_, &gate_, &up_}) n += v->size();
  return int64_t(n * sizeof(float));
}

void FastDecoder::truncate(int64_t length) {
  if (length < 0 || length > length_) fail("fast decoder", "cannot keep ", length, " slots of ", length_);
  length_ = length;
}

void FastDecoder::forward(const int64_t* tokens, const int64_t* positions, int64_t n, const uint8_t* key_valid,
                          float* logits) {
  std::vector<int64_t> last(static_cast<size_t>(batch_));
  for (int64_t b = 0; b < batch_; ++b) last[size_t(b)] = b * n + n - 1;
  forward(tokens, positions, n, key_valid, last.data(), batch_, logits);
}

void FastDecoder::forward(const int64_t* tokens, const int64_t* positions, int64_t n, const uint8_t* key_valid,
                          const int64_t* out_rows, int64_t n_out, float* logits) {
  const FastDecoderShape& s = shape_;
  if (n <= 0) fail("fast decoder", "no tokens to run");
  if (n_out > batch_ * n) fail("fast decoder", "logits asked for ", n_out, " tokens of a call of ", batch_ * n);
  for (int64_t i = 0; i < n_out; ++i)
    if (out_rows[i] < 0 || out_rows[i] >= batch_ * n)
      fail("fast decoder", "logits asked for token ", out_rows[i], " of a call of ", batch_ * n);
  if (length_ + n > capacity_)
    fail("fast decoder", "the cache holds ", capacity_, " slots; ", length_, " are used and ", n, " more do not fit");
  const int64_t rows = batch_ * n, hd = s.head_dim;
  const int64_t q_width = s.n_heads * hd, kv_width = s.n_kv_heads * hd;
  for (int64_t i = 0; i < rows; ++i) {
    if (tokens[i] < 0 || tokens[i] >= s.n_vocab) fail("fast decoder", "token ", tokens[i], " is outside the vocabulary");
    if (positions[i] < 0 || positions[i] >= capacity_)
      fail("fast decoder", "position ", positions[i], " is outside the cache of ", capacity_);
  }
  auto fit = [&](std::vector<float>& v, int64_t width) {
    if (int64_t(v.size()) < rows * width) v.resize(size_t(rows * width));
    return v.data();
  };
  float* x = fit(x_, s.hidden);
  float* xn = fit(xn_, s.hidden);
  float* q = fit(q_, q_width);
  float* k = fit(k_, kv_width);
  float* v = fit(v_, kv_width);
  fit(attn_, q_width);
  float* gate = fit(gate_, s.intermediate);
  float* up = fit(up_, s.intermediate);
  const KernelTable& kt = kernel_table();

  const WeightType wt = w_.matrix_type;
  for (int64_t i = 0; i < rows; ++i) widen_row(s.hidden, w_.embed, wt, tokens[i], x + i * s.hidden);

  for (int64_t l = 0; l < s.n_layers; ++l) {
    const FastLayerWeights& lw = w_.layers[size_t(l)];
    for (int64_t i = 0; i < rows; ++i) kt.rms_norm(s.hidden, x + i * s.hidden, lw.input_norm, s.rms_norm_eps, xn + i * s.hidden);
    linear(rows, q_width, s.hidden, xn, lw.q, wt, q, false);
    linear(rows, kv_width, s.hidden, xn, lw.k, wt, k, false);
    linear(rows, kv_width, s.hidden, xn, lw.v, wt, v, false);
    add_bias(q, rows, q_width, lw.q_bias);
    add_bias(k, rows, kv_width, lw.k_bias);
    add_bias(v, rows, kv_width, lw.v_bias);
    if (lw.q_norm != nullptr) {
      for (int64_t i = 0; i < rows * s.n_heads; ++i) kt.rms_norm(hd, q + i * hd, lw.q_norm, s.rms_norm_eps, q + i * hd);
      for (int64_t i = 0; i < rows * s.n_kv_heads; ++i) kt.rms_norm(hd, k + i * hd, lw.k_norm, s.rms_norm_eps, k + i * hd);
    }
    rotate(q, rows, s.n_heads, positions);
    rotate(k, rows, s.n_kv_heads, positions);
    append_to_cache(l, n);
    attention(l, n, key_valid);
    linear(rows, s.hidden, q_width, attn_.data(), lw.o, wt, x, /*accumulate=*/true);
    for (int64_t i = 0; i < rows; ++i) kt.rms_norm(s.hidden, x + i * s.hidden, lw.post_norm, s.rms_norm_eps, xn + i * s.hidden);
    linear(rows, s.intermediate, s.hidden, xn, lw.gate, wt, gate, false);
    linear(rows, s.intermediate, s.hidden, xn, lw.up, wt, up, false);
    kt.silu_mul(rows * s.intermediate, gate, up, gate);
    linear(rows, s.hidden, s.intermediate, gate, lw.down, wt, x, /*accumulate=*/true);
  }
  length_ += n;
  // The head, for the tokens asked for only.
  for (int64_t i = 0; i < n_out; ++i)
    kt.rms_norm(s.hidden, x + out_rows[i] * s.hidden, w_.norm, s.rms_norm_eps, xn + i * s.hidden);
  linear(n_out, s.n_vocab, s.hidden, xn, w_.lm_head, wt, logits, false);
}

// Rotate-half RoPE in place on `rows` rows of `heads` heads: (a, b) -> (a cos - b sin, b cos + a sin).
void FastDecoder::rotate(float* x, int64_t rows, int64_t heads, const int64_t* positions) const {
  const int64_t hd = shape_.head_dim, half = hd / 2;
  for (int64_t i = 0; i < rows; ++i) {
    const float* c = cos_.data() + positions[i] * half;
    const float* sn = sin_.data() + positions[i] * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* a = x + (i * heads + h) * hd;
      float* b = a + half;
      for (int64_t j = 0; j < half; ++j) {
        const float a0 = a[j], b0 = b[j];
        a[j] = a0 * c[j] - b0 * sn[j];
        b[j] = b0 * c[j] + a0 * sn[j];
      }
    }
  }
}

// The n new keys (transposed) and values of every row into slots [length_, length_ + n).
void FastDecoder::append_to_cache(int64_t layer, int64_t n) {
  const int64_t hd = shape_.head_dim, kv_width = shape_.n_kv_heads * hd;
  for (int64_t b = 0; b < batch_; ++b)
    for (int64_t g = 0; g < shape_.n_kv_heads; ++g) {
      const int64_t head = ((layer * batch_ + b) * shape_.n_kv_heads + g) * capacity_ * hd;
      float* kt_head = keys_t_.data() + head;  // [hd, capacity]
      float* v_head = values_.data() + head;   // [capacity, hd]
      for (int64_t t = 0; t < n; ++t) {
        const int64_t slot = length_ + t, row = b * n + t;
        const float* kr = k_.data() + row * kv_width + g * hd;
        for (int64_t d = 0; d < hd; ++d) kt_head[d * capacity_ + slot] = kr[d];
        std::copy_n(v_.data() + row * kv_width + g * hd, hd, v_head + slot * hd);
      }
    }
}

// Scaled dot-product attention of the n new tokens of every row against the row's cache (the
// slots up to each query, or up to the call's last token when bidirectional), one task per
// (row, query head, block of queries), the tasks dealt round-robin to the threads.
void FastDecoder::attention(int64_t layer, int64_t n, const uint8_t* key_valid) {
  const FastDecoderShape& s = shape_;
  const int64_t hd = s.head_dim, q_width = s.n_heads * hd, rep = s.n_heads / s.n_kv_heads;
  const int64_t n_blocks = (n + kQueryBlock - 1) / kQueryBlock;
  const int64_t n_tasks = batch_ * s.n_heads * n_blocks;
  const float scale = float(1.0 / std::sqrt(double(hd)));
  const KernelTable& kt = kernel_table();
  const float minus_inf = -std::numeric_limits<float>::infinity();
  ThreadPool& pool = compute_pool();
  if (scores_.size() < size_t(pool.n_threads() * kQueryBlock * capacity_))  // the pool grew since construction
    scores_.resize(size_t(pool.n_threads() * kQueryBlock * capacity_));
  pool.run([&](int thread, int n_threads) {
    float* scores = scores_.data() + int64_t(thread) * kQueryBlock * capacity_;
    for (int64_t task = thread; task < n_tasks; task += n_threads) {
      const int64_t blk = task % n_blocks, h = (task / n_blocks) % s.n_heads, b = task / (n_blocks * s.n_heads);
      const int64_t t0 = blk * kQueryBlock, t1 = std::min(n, t0 + kQueryBlock), m = t1 - t0;
      const int64_t n_keys = length_ + (s.causal ? t1 : n);  // what the block's last query sees
      const int64_t head = ((layer * batch_ + b) * s.n_kv_heads + h / rep) * capacity_ * hd;
      const float* q = q_.data() + (b * n + t0) * q_width + h * hd;  // rows of stride q_width
      float* out = attn_.data() + (b * n + t0) * q_width + h * hd;
      // scores [m, n_keys] = q K^T against the transposed keys, then scaled.
      kt.gemm_nn(m, n_keys, hd, q, q_width, keys_t_.data() + head, capacity_, scores, n_keys, false);
      const uint8_t* valid = key_valid ? key_valid + b * capacity_ : nullptr;
      for (int64_t i = 0; i < m; ++i) {
        float* row = scores + i * n_keys;
        const int64_t seen = s.causal ? length_ + t0 + i + 1 : n_keys;  // slots this query may see
        bool any = false;
        for (int64_t j = 0; j < seen; ++j) {
          const bool ok = valid == nullptr || valid[j] != 0;
          row[j] = ok ? row[j] * scale : minus_inf;
          any = any || ok;
        }
        if (any) kt.softmax(seen, row);
        // Exact zeros where the query may not look (and everywhere for padding with no slot at
        // all), so nothing there, however large, reaches the output.
        for (int64_t j = 0; j < n_keys; ++j)
          if (j >= seen || !any || (valid != nullptr && valid[j] == 0)) row[j] = 0.0f;
      }
      // out [m, hd] = probabilities [m, n_keys] times values [n_keys, hd].
      kt.gemm_nn(m, hd, n_keys, scores, n_keys, values_.data() + head, hd, out, q_width, false);
    }
  });
}

}  // namespace sculpt
