// KvCache: preallocated per-layer key/value buffers.
#include "core/kv_cache.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "core/memory_guard.h"

namespace sculpt {

int64_t KvCache::bytes_for(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len,
                           int64_t head_dim) {
  return 2 * n_layers * batch * n_kv_heads * max_len * head_dim * int64_t(sizeof(float));
}

KvCache::KvCache(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len,
                 int64_t head_dim)
    : batch_(batch), max_len_(max_len) {
  if (n_layers <= 0 || batch <= 0 || n_kv_heads <= 0 || max_len <= 0 || head_dim <= 0)
    fail("kv cache", "every dimension must be positive (layers ", n_layers, ", batch ", batch,
         ", kv_heads ", n_kv_heads, ", max_len ", max_len, ", head_dim ", head_dim, ")");
  check_memory("kv cache", bytes_for(n_layers, batch, n_kv_heads, max_len, head_dim),
               str_cat("it holds ", batch, " sequences of ", max_len, " tokens; ask for fewer new tokens or a smaller batch"));
  auto options = at::TensorOptions().dtype(at::kFloat);
  for (int64_t i = 0; i < n_layers; ++i) {
    keys_.push_back(at::zeros({batch, n_kv_heads, max_len, head_dim}, options));
    values_.push_back(at::zeros({batch, n_kv_heads, max_len, head_dim}, options));
  }
}

std::pair<at::Tensor, at::Tensor> KvCache::update(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v) {
  if (layer < 0 || layer >= n_layers()) fail("kv cache", "layer ", layer, " out of range");
  const int64_t n_new = k.size(2);
  if (length_ + n_new > max_len_)
    fail("kv cache", "writing ", n_new, " positions after ", length_, " exceeds the capacity of ",
         max_len_);
  if (k.size(0) != batch_) fail("kv cache", "batch ", k.size(0), " does not match the cache batch ", batch_);
  keys_[layer].narrow(2, length_, n_new).copy_(k);
  values_[layer].narrow(2, length_, n_new).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + n_new), values_[layer].narrow(2, 0, length_ + n_new)};
}

void KvCache::advance(int64_t n_new) {
  if (n_new < 0 || length_ + n_new > max_len_) fail("kv cache", "cannot advance by ", n_new);
  length_ += n_new;
}

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > length_) fail("kv cache", "cannot truncate to ", n, " of ", length_, " positions");
  length_ = n;
}

int64_t KvCache::n_bytes() const {
  int64_t total = 0;
  for (size_t i = 0; i < keys_.size(); ++i) total += (keys_[i].numel() + values_[i].numel()) * int64_t(sizeof(float));
  return total;
}

}  // namespace sculpt
