// A preallocated key/value cache (gpt-fast style): one [batch, kv_heads, max_len, head_dim]
// buffer per layer for keys and one for values, filled left to right.
//
//   KvCache cache(cfg.num_hidden_layers, /*batch=*/1, cfg.n_kv_heads(), /*max_len=*/512, cfg.n_head_dim());
//   model->forward(prompt, {}, &cache);     // prefill: writes positions [0, n_prompt)
//   model->forward(next_token, {}, &cache); // decode: attends to everything cached so far
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace sculpt {

class KvCache {
 public:
  // Allocates 2 * n_layers buffers of float32 (throws Error if the shape is not positive).
  KvCache(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len, int64_t head_dim);

  // Writes k and v ([batch, kv_heads, n_new, head_dim]) of `layer` at slots
  // [length(), length() + n_new) and returns views of slots [0, length() + n_new).
  // Does not move length(): call advance(n_new) once every layer has been updated.
  std::pair<at::Tensor, at::Tensor> update(int64_t layer, const at::Tensor& k, const at::Tensor& v);
  void advance(int64_t n_new);

  // Forgets everything after the first n slots (keeps a frozen prefix for reuse).
  void truncate(int64_t n);
  void reset() { truncate(0); }

  int64_t length() const { return length_; }
  int64_t capacity() const { return max_len_; }
  int64_t batch() const { return batch_; }
  int64_t n_layers() const { return int64_t(keys_.size()); }
  int64_t n_bytes() const;  // memory held by the buffers

  // Bytes a cache of this shape would take, to refuse before allocating.
  static int64_t bytes_for(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len,
                           int64_t head_dim);

 private:
  int64_t batch_ = 0;
  int64_t max_len_ = 0;
  int64_t length_ = 0;
  std::vector<at::Tensor> keys_;    // per layer [batch, kv_heads, max_len, head_dim]
  std::vector<at::Tensor> values_;  // per layer [batch, kv_heads, max_len, head_dim]
};

}  // namespace sculpt
