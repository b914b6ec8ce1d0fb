// A Llama-layout decoder's forward pass on the CPU kernels of kernels.h, without LibTorch:
// RMSNorm, rotary positions (rotate-half), grouped-query attention (causal or bidirectional)
// with optional q/k/v biases and Qwen3's per-head q/k norms, SwiGLU, and the head for the tokens
// asked for. It keeps its own key/value cache and computes in float32 over weights it does not
// own. The drafter decodes with it and the refiner runs its canvas passes with it when the model
// allows (core/fast_decoder_weights.h says when); LibTorch's TransformerImpl stays the reference
// it is tested against. The matrices may be stored in float32, float16 or bfloat16 (widened as
// they are read, kernels.h) or in Sculpt's int8 format (dequantized as they are read); activations,
// the cache and the logits are float32.
//
//   FastDecoder dec(shape, weights, /*batch=*/1, /*capacity=*/512);
//   dec.forward(prompt.data(), positions.data(), n_prompt, nullptr, logits.data());  // prefill
//   dec.forward(&next, &pos, 1, nullptr, logits.data());                             // one token
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace sculpt {

struct FastDecoderShape {
  int64_t n_vocab = 0;
  int64_t hidden = 0;        // model width
  int64_t intermediate = 0;  // SwiGLU inner width
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;    // divides n_heads
  int64_t head_dim = 0;      // even
  float rms_norm_eps = 1e-5f;
  // true: a token sees the slots before it and itself; false (bidirectional, a refiner): every
  // slot up to the last token of its call, those of earlier calls included.
  bool causal = true;
  std::vector<double> inv_freq;  // head_dim / 2 rotary frequencies (core/rope.h's rope_inverse_frequencies)
};

// Row-major arrays in the checkpoint's shapes: the matrices of FastDecoderWeights::matrix_type
// (with their scales when int8), the vectors (norms, biases) float32; null optional parts are absent.
struct FastLayerWeights {
  const float* input_norm = nullptr;  // [hidden]
  WeightMatrix q;                     // [n_heads * head_dim, hidden]
  WeightMatrix k;                     // [n_kv_heads * head_dim, hidden]
  WeightMatrix v;                     // [n_kv_heads * head_dim, hidden]
  const float* q_bias = nullptr;      // [n_heads * head_dim] or null
  const float* k_bias = nullptr;      // [n_kv_heads * head_dim] or null
  const float* v_bias = nullptr;      // [n_kv_heads * head_dim] or null
  const float* q_norm = nullptr;      // [head_dim] (Qwen3) or null
  const float* k_norm = nullptr;      // [head_dim] (Qwen3) or null
  WeightMatrix o;                     // [hidden, n_heads * head_dim]
  const float* post_norm = nullptr;   // [hidden]
  WeightMatrix gate;                  // [intermediate, hidden]
  WeightMatrix up;                    // [intermediate, hidden]
  WeightMatrix down;                  // [hidden, intermediate]
};

struct FastDecoderWeights {
  WeightType matrix_type = WeightType::kF32;  // of every matrix, the embedding included
  WeightMatrix embed;                 // [n_vocab, hidden]
  std::vector<FastLayerWeights> layers;
  const float* norm = nullptr;    // [hidden]
  WeightMatrix lm_head;               // [n_vocab, hidden]; the embedding when tied
  // Float32 copies of vectors that were stored in another dtype, which the pointers above may
  // point into (moving the struct keeps them valid).
  std::vector<std::vector<float>> owned;
};

class FastDecoder {
 public:
  // Checks the shape (an Error naming what is wrong) and allocates the cache for `batch` rows of
  // `capacity` slots: 2 * n_layers * batch * n_kv_heads * capacity * head_dim floats.
  FastDecoder(FastDecoderShape shape, FastDecoderWeights weights, int64_t batch, int64_t capacity);

  // Appends n tokens to every row, at slots [length(), length() + n): tokens and positions are
  // [batch, n] (positions < capacity). Each new token attends (causally or not, as the shape
  // says) to the row's slots where key_valid [batch, capacity] is nonzero (nullptr = all); a
  // token with no slot to attend to (padding) gets a zero attention output. Writes the logits of
  // each row's last new token to logits [batch, n_vocab]. Throws Error if the cache would overflow.
  void forward(const int64_t* tokens, const int64_t* positions, int64_t n, const uint8_t* key_valid, float* logits);
  // The same pass, writing the logits of the new tokens out_rows[i] = b * n + t (token t of
  // row b; n_out <= batch * n) to logits [n_out, n_vocab].
  void forward(const int64_t* tokens, const int64_t* positions, int64_t n, const uint8_t* key_valid,
               const int64_t* out_rows, int64_t n_out, float* logits);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  void reset() { length_ = 0; }
  // Keeps the first `length` slots (<= length()) and forgets the rest.
  void truncate(int64_t length);
  // Bytes of the cache and the activation buffers.
  int64_t n_bytes() const;

 private:
  void rotate(float* x, int64_t rows, int64_t heads, const int64_t* positions) const;
  void append_to_cache(int64_t layer, int64_t n);
  void attention(int64_t layer, int64_t n, const uint8_t* key_valid);

  FastDecoderShape shape_;
  FastDecoderWeights w_;
  int64_t batch_ = 0, capacity_ = 0, length_ = 0;
  std::vector<float> cos_, sin_;      // [capacity, head_dim / 2]
  std::vector<float> keys_t_;         // [layer, batch, kv_head, head_dim, capacity]: transposed, for q K^T
  std::vector<float> values_;         // [layer, batch, kv_head, capacity, head_dim]
  // Activations of the tokens of one call, [batch * n, width]; sized by the largest call.
  std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_;
  std::vector<float> scores_;         // per thread: [kQueryBlock, capacity]
};

}  // namespace sculpt
