// One batch of prompts decoded together, in the steps of the clearest decoders (gpt-fast's
// prefill / decode_one_token / decode_n_tokens): left-padded rows against one preallocated KV
// cache, each row's tokens drawn by the sampler (mixed with the copy distribution when the row
// quotes a reference), streamed, and stopped at EOS, a stop string, max_tokens or the context.
//
//   DecodeBatch batch(*model, tokenizer, prompt_ids, params);
//   batch.decode_n_tokens();                   // prefill, then one token per step
//   std::vector<DraftResult> out = batch.take_results();
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ar_draft/draft_params.h"
#include "ar_draft/draft_result.h"
#include "core/kv_cache.h"
#include "core/sample_rows.h"
#include "core/tokenizer.h"
#include "core/transformer_fwd.h"
#include "kernels/fast_decoder.h"

namespace sculpt {

class DecodeBatch {
 public:
  // Checks the prompts (non-empty, ids in the vocabulary, shorter than the context) and the
  // references (none, or one per prompt); clamps max_tokens to the context with a warning.
  // Throws Error naming the prompt. The model and tokenizer must outlive the batch.
  DecodeBatch(TransformerImpl& model, const Tokenizer& tokenizer, const std::vector<std::vector<TokenId>>& prompts,
              const DraftParams& params, const std::vector<std::vector<TokenId>>& references = {},
              TokenCallback on_token = {});
  ~DecodeBatch();

  // One forward pass over every prompt, padding masked: the logits of each row's next token,
  // [batch, n_vocab].
  at::Tensor prefill();
  // Draws each unfinished row's next token from logits [batch, n_vocab], appends it, applies
  // EOS and the stop strings, and streams it. Returns false once every row is done.
  bool decode_one_token(const at::Tensor& logits);
  // The logits after the tokens the last decode_one_token appended: one position per row
  // against the cache, or the whole sequence again without it. [batch, n_vocab]
  at::Tensor forward_next();
  // prefill, then decode_one_token and forward_next until max_tokens or every row stops.
  void decode_n_tokens();

  int64_t max_tokens() const { return max_tokens_; }  // after clamping to the context
  const DraftStats& stats() const { return stats_; }
  std::vector<DraftResult> take_results() { return std::move(results_); }

 private:
  struct Row;
  void mix_copy_distribution_into(at::Tensor& logits) const;
  void append(int64_t r, const SampledToken& token);

  TransformerImpl& model_;
  const Tokenizer& tokenizer_;
  const DraftParams params_;
  const std::vector<std::vector<TokenId>> references_;  // none, or one per row that copying may quote
  TokenCallback on_token_;
  std::vector<Row> rows_;
  std::vector<DraftResult> results_;
  int64_t batch_ = 0, n_max_prompt_ = 0, max_tokens_ = 0, step_ = 0;  // step_: tokens decoded so far
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<FastDecoder> fast_;  // instead of cache_, when params.backend and the model allow
  std::vector<uint8_t> key_valid_;     // [batch, capacity]: key_mask_ for fast_
  at::Tensor key_mask_;    // bool [batch, capacity]: false for padding slots
  at::Tensor positions_;   // int64 [batch, n]: each slot's position within its row
  at::Tensor all_tokens_;  // int64 [batch, n]: only without the cache, the whole sequence so far
  at::Tensor next_;        // int64 [batch, 1]: the tokens decode_one_token appended
  TokenSampler sampler_;
  DraftStats stats_;
};

}  // namespace sculpt
