// DecodeBatch: batched prefill and KV-cached decoding with per-token confidence; see decode_batch.h.
#include "ar_draft/decode_batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "ar_draft/draft_text.h"
#include "ar_draft/reference_copy.h"
#include "core/error.h"
#include "core/fast_decoder_weights.h"
#include "core/log.h"
#include "core/phrase_ban.h"
#include "core/transformer.h"

namespace sculpt {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const auto kLong = at::TensorOptions().dtype(at::kLong);

}  // namespace

// Per-row decoding state.
struct DecodeBatch::Row {
  std::vector<TokenId> ids;  // prompt then drafted tokens (the sampler's repetition context)
  int64_t n_prompt = 0;
  int64_t pad = 0;           // left-padding slots before the prompt
  bool done = false;
  std::optional<DraftText> text;  // the drafted text, from the prompt on
};

DecodeBatch::DecodeBatch(TransformerImpl& model, const Tokenizer& tokenizer,
                         const std::vector<std::vector<TokenId>>& prompts, const DraftParams& params,
                         const std::vector<std::vector<TokenId>>& references, TokenCallback on_token)
    : model_(model), tokenizer_(tokenizer), params_(params), references_(references), on_token_(std::move(on_token)),
      sampler_(params.sampler) {
  if (prompts.empty()) fail("draft", "no prompts");
  if (!references.empty() && references.size() != prompts.size())
    fail("draft", references.size(), " references for ", prompts.size(), " prompts: give one per prompt or none");
  const ModelConfig& cfg = model_.config();
  const int64_t context = cfg.max_position_embeddings;
  batch_ = int64_t(prompts.size());
  rows_.resize(size_t(batch_));
  for (int64_t r = 0; r < batch_; ++r) {
    Row& row = rows_[size_t(r)];
    row.ids = prompts[size_t(r)];
    if (row.ids.empty()) fail(str_cat("prompt ", r), "has no tokens (not even BOS): nothing to continue");
    for (TokenId id : row.ids)
      if (id < 0 || id >= cfg.vocab_size) fail(str_cat("prompt ", r), "token ", id, " is outside the vocabulary");
    row.n_prompt = int64_t(row.ids.size());
    row.text.emplace(tokenizer_, row.ids);
    if (row.n_prompt >= context)
      fail(str_cat("prompt ", r), row.n_prompt, " tokens do not fit the model's context of ", context,
           " (leave room for at least one new token)");
    n_max_prompt_ = std::max(n_max_prompt_, row.n_prompt);
  }
  max_tokens_ = params.max_tokens;
  if (n_max_prompt_ + max_tokens_ > context) {
    log_warning(str_cat("max_tokens ", max_tokens_, " clamped to ", context - n_max_prompt_, " to fit the context of ",
                        context, " tokens"));
    max_tokens_ = context - n_max_prompt_;
  }
  results_.resize(size_t(batch_));
  for (int64_t r = 0; r < batch_; ++r) results_[size_t(r)].prompt_ids = rows_[size_t(r)].ids;
  for (const Row& row : rows_) stats_.n_prompt_tokens += row.n_prompt;
}

DecodeBatch::~DecodeBatch() = default;

at::Tensor DecodeBatch::prefill() {
  const auto start = Clock::now();
  const int64_t capacity = n_max_prompt_ + max_tokens_;
  // Left padding: row r's prompt occupies slots [pad, n_max_prompt); padding is never attended to.
  at::Tensor tokens = at::zeros({batch_, n_max_prompt_}, kLong);
  positions_ = at::zeros({batch_, n_max_prompt_}, kLong);
  key_mask_ = at::zeros({batch_, capacity}, at::TensorOptions().dtype(at::kBool));
  for (int64_t r = 0; r < batch_; ++r) {
    Row& row = rows_[size_t(r)];
    row.pad = n_max_prompt_ - row.n_prompt;
    tokens[r].narrow(0, row.pad, row.n_prompt).copy_(at::tensor(row.ids, kLong));
    positions_[r].narrow(0, row.pad, row.n_prompt).copy_(at::arange(row.n_prompt, kLong));
    key_mask_[r].narrow(0, row.pad, capacity - row.pad).fill_(true);
  }
  const ModelConfig& cfg = model_.config();
  std::optional<FastDecoderModel> fast;
  if (params_.use_cache && params_.backend == DecodeBackend::kAuto) fast = fast_decoder_model(model_);
  if (fast) {
    fast_ = std::make_unique<FastDecoder>(std::move(fast->shape), std::move(fast->weights), batch_, capacity);
    const at::Tensor valid = key_mask_.to(at::kByte).contiguous();
    key_valid_.assign(valid.data_ptr<uint8_t>(), valid.data_ptr<uint8_t>() + valid.numel());
    at::Tensor logits = at::empty({batch_, cfg.vocab_size});
    fast_->forward(tokens.contiguous().data_ptr<int64_t>(), positions_.contiguous().data_ptr<int64_t>(), n_max_prompt_,
                   key_valid_.data(), logits.data_ptr<float>());
    stats_.n_forward = 1;
    stats_.fast_decoder = true;
    stats_.prefill_seconds = seconds_since(start);
    return logits;
  }
  if (params_.use_cache)
    cache_ = std::make_unique<KvCache>(cfg.num_hidden_layers, batch_, cfg.n_kv_heads(), capacity, cfg.n_head_dim());
  else
    all_tokens_ = tokens;
  ForwardArgs args;
  args.cache = cache_.get();
  args.positions = positions_;
  args.key_mask = key_mask_.narrow(1, 0, n_max_prompt_);
  at::Tensor hidden = model_.hidden_states(tokens, args);
  stats_.n_forward = 1;
  stats_.prefill_seconds = seconds_since(start);
  return model_.logits(hidden.narrow(1, n_max_prompt_ - 1, 1)).squeeze(1);  // [batch, vocab]
}

void DecodeBatch::mix_copy_distribution_into(at::Tensor& logits) const {
  logits = logits.clone();  // the model's logits stay as they are; a row that copies gets log p of the mixture
  for (int64_t r = 0; r < batch_; ++r) {
    const Row& row = rows_[size_t(r)];
    const CopyCandidates c = find_copy_candidates(row.ids, references_[size_t(r)], params_.copy.min_match);
    if (!row.done && !c.next.empty()) logits[r].copy_(mix_copy_distribution(logits[r], c, params_.copy.weight));
  }
}

bool DecodeBatch::decode_one_token(const at::Tensor& model_logits) {
  at::Tensor logits = model_logits;
  if (params_.copy.weight > 0 && !references_.empty()) mix_copy_distribution_into(logits);
  if (params_.ban && !params_.ban->empty()) {  // no token that would complete a forbidden phrase
    logits = logits.clone();
    for (int64_t r = 0; r < batch_; ++r) {
      const Row& row = rows_[size_t(r)];
      if (row.done) continue;
      for (TokenId b : params_.ban->banned_at(row.ids, {}, int64_t(row.ids.size())))
        logits[r][b] = -std::numeric_limits<float>::infinity();
    }
  }
  std::vector<std::vector<TokenId>> contexts;
  for (const Row& row : rows_) contexts.push_back(row.ids);
  const std::vector<SampledToken> drawn = sample_rows(logits, contexts, sampler_);  // finished rows draw too: one draw per row per step
  next_ = at::empty({batch_, 1}, kLong);
  for (int64_t r = 0; r < batch_; ++r) {
    Row& row = rows_[size_t(r)];
    next_[r][0] = row.done ? row.ids.back() : drawn[size_t(r)].id;  // finished rows idle on their last token
    if (!row.done) append(r, drawn[size_t(r)]);
  }
  ++step_;
  return std::any_of(rows_.begin(), rows_.end(), [](const Row& row) { return !row.done; });
}

// Appends one drawn token to row r: EOS ends the row, a stop string cuts its text, and what the
// token adds to the text is streamed.
void DecodeBatch::append(int64_t r, const SampledToken& t) {
  Row& row = rows_[size_t(r)];
  DraftResult& out = results_[size_t(r)];
  row.ids.push_back(t.id);
  if (params_.stop_at_eos && t.id == tokenizer_.eos_id()) {
    row.done = true;
    out.stop_reason = StopReason::kEos;
    return;
  }
  const DraftToken token{t.id, t.logprob, t.entropy};
  out.tokens.push_back(token);
  ++stats_.n_generated;
  const std::string added = row.text->extend(row.ids, params_.stop);
  if (row.text->stopped()) {
    row.done = true;
    out.stop_reason = StopReason::kStopString;
  }
  out.text = row.text->text();
  if (on_token_) on_token_(r, token, added);
  if (step_ + 1 == max_tokens_ && !row.done)
    out.stop_reason = max_tokens_ < params_.max_tokens ? StopReason::kContext : StopReason::kMaxTokens;
}

at::Tensor DecodeBatch::forward_next() {
  const int64_t slot = n_max_prompt_ + step_ - 1;  // slot of next_
  at::Tensor next_positions = at::empty({batch_, 1}, kLong);
  for (int64_t r = 0; r < batch_; ++r) next_positions[r][0] = slot - rows_[size_t(r)].pad;
  ++stats_.n_forward;
  if (fast_) {
    at::Tensor logits = at::empty({batch_, model_.config().vocab_size});
    fast_->forward(next_.data_ptr<int64_t>(), next_positions.data_ptr<int64_t>(), 1, key_valid_.data(),
                   logits.data_ptr<float>());
    return logits;
  }
  ForwardArgs args;
  args.key_mask = key_mask_.narrow(1, 0, slot + 1);
  if (cache_) {
    args.cache = cache_.get();
    args.positions = next_positions;
    return model_.forward(next_, args).squeeze(1);
  }
  all_tokens_ = at::cat({all_tokens_, next_}, 1);
  positions_ = at::cat({positions_, next_positions}, 1);
  args.positions = positions_;
  at::Tensor h = model_.hidden_states(all_tokens_, args);
  return model_.logits(h.narrow(1, slot, 1)).squeeze(1);
}

void DecodeBatch::decode_n_tokens() {
  at::NoGradGuard no_grad;
  at::Tensor logits = prefill();
  const auto start = Clock::now();
  while (decode_one_token(logits) && step_ < max_tokens_) logits = forward_next();
  stats_.decode_seconds = seconds_since(start);
}

}  // namespace sculpt
