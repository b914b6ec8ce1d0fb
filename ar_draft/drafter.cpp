// Drafter: batched prefill + KV-cached decoding with per-token confidence.
#include "ar_draft/drafter.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "core/lora.h"

namespace sculpt {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Per-row decoding state.
struct Row {
  std::vector<int64_t> ids;  // prompt then drafted tokens (the sampler's repetition context)
  int64_t n_prompt = 0;
  int64_t pad = 0;           // left-padding slots before the prompt
  bool done = false;
  std::string text;          // decoded drafted tokens
  std::string prompt_text;   // decoded prompt ids
};

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kEos: return "eos";
    case StopReason::kStopString: return "stop_string";
    case StopReason::kContext: return "context";
  }
  return "?";
}

Drafter::Drafter(Transformer model, Tokenizer tokenizer) : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  if (model_->config().vocab_size != tokenizer_.n_vocab())
    fail(tokenizer_.path(), "the tokenizer has ", tokenizer_.n_vocab(), " pieces but the model's vocab_size is ",
         model_->config().vocab_size);
  model_->eval();
}

Drafter Drafter::load(const std::string& model_dir, const std::string& adapter_dir) {
  Transformer model = load_adapted_transformer(model_dir, adapter_dir);
  const std::string tok_path = model_dir + "/tokenizer.model";
  if (!file_exists(tok_path)) fail(tok_path, "missing: the drafter's model directory must hold its tokenizer");
  return Drafter(std::move(model), Tokenizer::load(tok_path));
}

std::vector<DraftResult> Drafter::draft(const std::vector<std::string>& prompts, const DraftParams& params,
                                        const TokenCallback& on_token, DraftStats* stats) {
  std::vector<std::vector<int64_t>> prompt_ids;
  for (const std::string& prompt : prompts) {
    std::vector<int64_t> ids;
    if (tokenizer_.bos_id() >= 0) ids.push_back(tokenizer_.bos_id());  // as Llama does
    for (int32_t id : tokenizer_.encode(prompt)) ids.push_back(id);
    prompt_ids.push_back(std::move(ids));
  }
  return draft_ids(prompt_ids, params, on_token, stats);
}

std::vector<DraftResult> Drafter::draft_ids(const std::vector<std::vector<int64_t>>& prompt_ids,
                                            const DraftParams& params, const TokenCallback& on_token,
                                            DraftStats* stats, const std::vector<std::vector<int64_t>>& references) {
  params.sampler.validate();
  if (prompt_ids.empty()) fail("draft", "no prompts");
  if (!references.empty() && references.size() != prompt_ids.size())
    fail("draft", references.size(), " references for ", prompt_ids.size(), " prompts: give one per prompt or none");
  const bool copying = params.copy.weight > 0 && !references.empty();
  const ModelConfig& cfg = model_->config();
  const int64_t context = cfg.max_position_embeddings;
  const int64_t batch = int64_t(prompt_ids.size());

  std::vector<Row> rows(static_cast<size_t>(batch));
  int64_t n_max_prompt = 0;
  for (int64_t r = 0; r < batch; ++r) {
    Row& row = rows[size_t(r)];
    row.ids = prompt_ids[size_t(r)];
    if (row.ids.empty()) fail(str_cat("prompt ", r), "has no tokens (not even BOS): nothing to continue");
    for (int64_t id : row.ids)
      if (id < 0 || id >= cfg.vocab_size) fail(str_cat("prompt ", r), "token ", id, " is outside the vocabulary");
    row.n_prompt = int64_t(row.ids.size());
    row.prompt_text = tokenizer_.decode(std::vector<int32_t>(row.ids.begin(), row.ids.end()));
    if (row.n_prompt >= context)
      fail(str_cat("prompt ", r), row.n_prompt, " tokens do not fit the model's context of ", context,
           " (leave room for at least one new token)");
    n_max_prompt = std::max(n_max_prompt, row.n_prompt);
  }
  int64_t max_tokens = params.max_tokens;
  if (n_max_prompt + max_tokens > context) {
    std::fprintf(stderr, "warning: max_tokens %lld clamped to %lld to fit the context of %lld tokens\n",
                 (long long)max_tokens, (long long)(context - n_max_prompt), (long long)context);
    max_tokens = context - n_max_prompt;
  }
  const int64_t capacity = n_max_prompt + max_tokens;

  // Left padding: row r's prompt occupies slots [pad, n_max_prompt); padding is never attended to.
  auto i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor tokens = at::zeros({batch, n_max_prompt}, i64);
  at::Tensor positions = at::zeros({batch, n_max_prompt}, i64);
  at::Tensor key_mask = at::zeros({batch, capacity}, at::TensorOptions().dtype(at::kBool));
  for (int64_t r = 0; r < batch; ++r) {
    Row& row = rows[size_t(r)];
    row.pad = n_max_prompt - row.n_prompt;
    tokens[r].narrow(0, row.pad, row.n_prompt).copy_(at::tensor(row.ids, i64));
    positions[r].narrow(0, row.pad, row.n_prompt).copy_(at::arange(row.n_prompt, i64));
    key_mask[r].narrow(0, row.pad, capacity - row.pad).fill_(true);
  }

  std::vector<DraftResult> results(static_cast<size_t>(batch));
  for (int64_t r = 0; r < batch; ++r) results[size_t(r)].prompt_ids = rows[size_t(r)].ids;
  at::Generator gen = make_sampler_generator(params.sampler.seed);
  DraftStats local;
  DraftStats& st = stats ? *stats : local;
  st = DraftStats{};
  for (const Row& row : rows) st.n_prompt_tokens += row.n_prompt;

  at::NoGradGuard no_grad;
  std::unique_ptr<KvCache> cache;
  if (params.use_cache)
    cache = std::make_unique<KvCache>(cfg.num_hidden_layers, batch, cfg.n_kv_heads(), capacity, cfg.n_head_dim());

  auto start = Clock::now();
  ForwardArgs args;
  args.cache = cache.get();
  args.positions = positions;
  args.key_mask = key_mask.narrow(1, 0, n_max_prompt);
  at::Tensor hidden = model_->hidden_states(tokens, args);
  at::Tensor logits = model_->logits(hidden.narrow(1, n_max_prompt - 1, 1)).squeeze(1);  // [batch, vocab]
  st.n_forward = 1;
  st.prefill_seconds = seconds_since(start);
  start = Clock::now();

  at::Tensor all_tokens = tokens;  // only kept without the cache: the whole sequence so far
  for (int64_t step = 0; step < max_tokens; ++step) {
    std::vector<std::vector<int64_t>> contexts;
    for (const Row& row : rows) contexts.push_back(row.ids);
    if (copying) {
      logits = logits.clone();  // the model's logits stay as they are; a row that copies gets log p of the mixture
      for (int64_t r = 0; r < batch; ++r) {
        const CopyCandidates c = find_copy_candidates(rows[size_t(r)].ids, references[size_t(r)], params.copy.min_match);
        if (!rows[size_t(r)].done && !c.next.empty())
          logits[r].copy_(mix_copy_distribution(logits[r], c, params.copy.weight));
      }
    }
    std::vector<SampledToken> drawn = sample_tokens(logits, params.sampler, contexts, gen);

    at::Tensor next = at::empty({batch, 1}, i64);
    for (int64_t r = 0; r < batch; ++r) {
      Row& row = rows[size_t(r)];
      DraftResult& out = results[size_t(r)];
      const SampledToken& t = drawn[size_t(r)];
      next[r][0] = row.done ? row.ids.back() : t.id;  // finished rows idle on their last token
      if (row.done) continue;
      row.ids.push_back(t.id);
      if (params.stop_at_eos && t.id == tokenizer_.eos_id()) {
        row.done = true;
        out.stop_reason = StopReason::kEos;
        continue;
      }
      DraftToken token{t.id, t.logprob, t.entropy};
      out.tokens.push_back(token);
      ++st.n_generated;
      // Decoded together with the prompt, then the prompt's text removed: sentencepiece drops
      // the leading space of a first piece, which would glue the draft to the prompt.
      std::vector<int32_t> all(row.ids.begin(), row.ids.end());
      std::string text = tokenizer_.decode(all);
      text = text.compare(0, row.prompt_text.size(), row.prompt_text) == 0 ? text.substr(row.prompt_text.size())
                                                                           : text;
      for (const std::string& s : params.stop) {
        size_t at = text.find(s);
        if (!s.empty() && at != std::string::npos) {
          text.resize(at);
          row.done = true;
          out.stop_reason = StopReason::kStopString;
        }
      }
      // Stream what this token added; a text that shrank (a stop string cut it) adds nothing.
      const std::string added = text.size() > row.text.size() && text.compare(0, row.text.size(), row.text) == 0
                                    ? text.substr(row.text.size()) : std::string();
      row.text = text;
      out.text = text;
      if (on_token) on_token(r, token, added);
      if (step + 1 == max_tokens && !row.done)
        out.stop_reason = max_tokens < params.max_tokens ? StopReason::kContext : StopReason::kMaxTokens;
    }
    bool all_done = true;
    for (const Row& row : rows) all_done = all_done && row.done;
    if (all_done || step + 1 == max_tokens) break;

    // One more forward pass for the next step: one token per row against the cache, or the
    // whole sequence again without it.
    const int64_t slot = n_max_prompt + step;  // slot of `next`
    at::Tensor next_positions = at::empty({batch, 1}, i64);
    for (int64_t r = 0; r < batch; ++r) next_positions[r][0] = slot - rows[size_t(r)].pad;
    if (cache) {
      args.positions = next_positions;
      args.key_mask = key_mask.narrow(1, 0, slot + 1);
      logits = model_->forward(next, args).squeeze(1);
    } else {
      all_tokens = at::cat({all_tokens, next}, 1);
      positions = at::cat({positions, next_positions}, 1);
      ForwardArgs full;
      full.positions = positions;
      full.key_mask = key_mask.narrow(1, 0, slot + 1);
      at::Tensor h = model_->hidden_states(all_tokens, full);
      logits = model_->logits(h.narrow(1, slot, 1)).squeeze(1);
    }
    ++st.n_forward;
  }
  st.decode_seconds = seconds_since(start);
  return results;
}

}  // namespace sculpt
