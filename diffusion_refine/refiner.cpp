// Refiner: the denoising loop over a canvas (commit rules, semi-AR blocks, editing, caches), one
// step at a time (denoise_step).
#include "diffusion_refine/refiner.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fast_decoder_weights.h"
#include "core/lora_merge.h"
#include "core/phrase_ban.h"
#include "core/sample_rows.h"
#include "diffusion_refine/canvas_forward.h"
#include "diffusion_refine/denoise_schedule.h"
#include "diffusion_refine/ngram_repeats.h"

namespace sculpt {
namespace {

// The cached prefix: positions before the first that may change (and before the one whose
// logits predict it, under shifted alignment), rounded down to a block boundary when
// block-causal so that its cache is exact. 0 = no cache.
int64_t cacheable_prefix(const ModelConfig& c, int64_t first_writable) {
  int64_t prefix = first_writable - (c.logits_alignment == LogitsAlignment::kShifted ? 1 : 0);
  if (c.attention == AttentionMode::kBlockCausal) prefix = prefix / c.block_size * c.block_size;
  return std::max<int64_t>(prefix, 0);
}

at::Tensor as_batch_tokens(const std::vector<int64_t>& x) {
  return at::tensor(x, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);  // [1, n]
}

// The canvas as the steps leave it: its tokens, what is masked, what editing may revise, how
// many re-maskings each position has left, and what is known for the n-gram ban.
struct DenoiseState {
  std::vector<TokenId> x;
  std::vector<uint8_t> masked, writable, known;
  std::vector<int> edits_left;
  int64_t first_writable = 0;  // the first position any step may write
  int64_t section_begin = 0;   // the first position after the frozen context
  bool editing = false;

  int64_t size() const { return int64_t(x.size()); }
  // Masked positions before hi: a block's own, and earlier ones editing re-masked.
  std::vector<int64_t> masked_before(int64_t hi) const {
    std::vector<int64_t> out;
    for (int64_t i = first_writable; i < hi; ++i) if (masked[size_t(i)]) out.push_back(i);
    return out;
  }
  // Written positions editing may still re-mask.
  std::vector<int64_t> revisable() const {
    std::vector<int64_t> out;
    if (!editing) return out;
    for (int64_t i = first_writable; i < size(); ++i)
      if (writable[size_t(i)] && !masked[size_t(i)] && edits_left[size_t(i)] > 0) out.push_back(i);
    return out;
  }
};

// The state a canvas starts from; checks the roles, the ids and that something may be written.
DenoiseState start_state(const Canvas& canvas, const RefineParams& p, const ModelConfig& c, TokenId mask) {
  const int64_t n = canvas.size();
  if (int64_t(canvas.roles.size()) != n) fail("refine", "canvas has ", n, " tokens but ", canvas.roles.size(), " roles");
  if (n > c.max_position_embeddings)
    fail("refine", "the canvas of ", n, " tokens exceeds the refiner's context of ", c.max_position_embeddings);
  DenoiseState s;
  s.editing = p.edit_threshold > 0 && p.max_edits > 0;
  s.x = canvas.tokens;
  s.masked.assign(size_t(n), 0);
  s.writable.assign(size_t(n), 0);
  s.known.assign(size_t(n), 1);
  s.edits_left.assign(size_t(n), p.max_edits);
  s.first_writable = n;
  for (int64_t i = 0; i < n; ++i) {
    if (s.x[size_t(i)] < 0 || s.x[size_t(i)] >= c.vocab_size)
      fail("refine", "token ", s.x[size_t(i)], " at position ", i, " is outside the vocabulary");
    const CanvasRole role = canvas.roles[size_t(i)];
    if (role == CanvasRole::kMasked) {
      s.masked[size_t(i)] = s.writable[size_t(i)] = 1;
      s.known[size_t(i)] = 0;
      s.x[size_t(i)] = mask;
    } else if (role == CanvasRole::kDraft && s.editing && p.edit_scope == EditScope::kDraft) {
      s.writable[size_t(i)] = 1;
    }
    if (s.writable[size_t(i)]) s.first_writable = std::min(s.first_writable, i);
  }
  while (s.section_begin < n && canvas.roles[size_t(s.section_begin)] == CanvasRole::kFrozen) ++s.section_begin;
  if (s.first_writable == n) fail("refine", "nothing to refine: the canvas has no masked positions (and no editable draft)");
  if (c.logits_alignment == LogitsAlignment::kShifted && s.first_writable == 0)
    fail("refine", "under shifted logits position 0 cannot be written (no position predicts it): put context before it");
  return s;
}

// Semi-autoregressive blocks of canvas positions [lo, lo + length), left to right from the first
// writable position; the steps are shared equally by the blocks that hold masked positions. A
// block-causal model decodes its own blocks, as it was trained (BD3-LM): boundaries at multiples
// of block_size, block_length rounded up to one (0 = one model block).
struct BlockPlan {
  int64_t first = 0, length = 0, steps_per_block = 1;
};

BlockPlan plan_blocks(const DenoiseState& s, const ModelConfig& c, const RefineParams& p) {
  const int64_t n = s.size();
  BlockPlan plan{s.first_writable, p.block_length > 0 ? p.block_length : n - s.first_writable, 1};
  if (c.attention == AttentionMode::kBlockCausal) {
    plan.first = s.first_writable / c.block_size * c.block_size;
    plan.length = std::max<int64_t>(1, (p.block_length + c.block_size - 1) / c.block_size) * c.block_size;
  }
  int64_t n_busy = 0;
  for (int64_t lo = plan.first; lo < n; lo += plan.length)
    n_busy += std::any_of(s.masked.begin() + lo, s.masked.begin() + std::min(n, lo + plan.length), [](uint8_t m) { return m; });
  plan.steps_per_block = std::max<int64_t>(1, p.steps / std::max<int64_t>(1, n_busy));
  return plan;
}

// The refiner's predictions for the positions it writes this step.
struct Predictions {
  std::vector<TokenId> tokens;
  std::vector<float> confidence;  // the model's own probability of each, before any ban or filter
};

// Draws a prediction for each of the first to_write.size() rows of logits [m, vocab]: the
// n-gram ban applies to the draw, never to the confidence.
Predictions predict(at::Tensor logits, const at::Tensor& probs, const std::vector<int64_t>& to_write,
                    const NgramRegion& section, const DenoiseState& s, const RefineParams& p, TokenSampler& sampler) {
  const int64_t m = int64_t(to_write.size());
  Predictions out;
  if (m == 0) return out;
  logits = logits.narrow(0, 0, m);
  const float never = -std::numeric_limits<float>::infinity();
  if (p.no_repeat_ngram > 0)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t b : section.banned_at(to_write[size_t(j)])) logits[j][b] = never;
  if (p.ban)  // no token that completes a forbidden phrase with the written text around it
    for (int64_t j = 0; j < m; ++j)
      for (TokenId b : p.ban->banned_at(s.x, s.known, to_write[size_t(j)])) logits[j][b] = never;
  out.tokens = draw_rows(logits, {}, sampler);  // the confidence is read from probs below
  const at::Tensor pred = at::tensor(out.tokens, at::kLong);
  const at::Tensor conf = probs.narrow(0, 0, m).gather(1, pred.unsqueeze(1)).squeeze(1).contiguous();
  out.confidence.assign(conf.data_ptr<float>(), conf.data_ptr<float>() + m);
  return out;
}

// Editing: the written tokens whose probability under the refiner fell below eta.
std::vector<int64_t> choose_remasks(const at::Tensor& probs, int64_t row0, const std::vector<int64_t>& to_check,
                                    const DenoiseState& s, double eta) {
  std::vector<int64_t> out;
  if (to_check.empty()) return out;
  std::vector<TokenId> current;
  for (int64_t i : to_check) current.push_back(s.x[size_t(i)]);
  const at::Tensor p_current = probs.narrow(0, row0, int64_t(to_check.size()))
                                   .gather(1, at::tensor(current, at::kLong).unsqueeze(1))
                                   .squeeze(1)
                                   .contiguous();  // [n_check]
  const float* pc = p_current.data_ptr<float>();
  for (size_t j = 0; j < to_check.size(); ++j)
    if (pc[j] < eta) out.push_back(to_check[j]);
  return out;
}

// Writes the chosen predictions, then re-masks the edited positions; returns the step's record.
// Two predictions committed together may still form a repeat or a forbidden phrase (they were
// made apart): the later one waits for the next step, whose ban sees the first (the first commit
// never waits, so every step makes progress). *deferred counts the positions handed back to
// later steps.
RefineStep apply_step(DenoiseState& s, TokenId mask, const std::vector<int64_t>& to_write, const Predictions& pred,
                      const std::vector<int64_t>& commit, const std::vector<int64_t>& remask,
                      const NgramRegion& section, const RefineParams& p, int64_t* deferred) {
  RefineStep step;
  for (int64_t j : commit) {
    const int64_t i = to_write[size_t(j)];
    s.x[size_t(i)] = pred.tokens[size_t(j)];
    s.masked[size_t(i)] = 0;
    s.known[size_t(i)] = 1;
    if ((p.no_repeat_ngram > 0 && section.repeats_at(i)) || (p.ban && p.ban->bans_at(s.x, s.known, i, s.x[size_t(i)]))) {
      s.x[size_t(i)] = mask;
      s.masked[size_t(i)] = 1;
      s.known[size_t(i)] = 0;
      ++*deferred;
      continue;
    }
    step.committed.push_back(i);
    step.tokens.push_back(pred.tokens[size_t(j)]);
    step.confidence.push_back(pred.confidence[size_t(j)]);
  }
  for (int64_t i : remask) {
    s.x[size_t(i)] = mask;
    s.masked[size_t(i)] = 1;
    s.known[size_t(i)] = 0;
    --s.edits_left[size_t(i)];
  }
  step.remasked = remask;
  *deferred += int64_t(remask.size());
  return step;
}

// What every step of one refinement shares.
struct DenoiseRun {
  DenoiseState& state;
  CanvasForward& forward;
  const NgramRegion& section;
  const RefineParams& p;
  TokenId mask;
  TokenSampler& sampler;
  int64_t deferred = 0;  // positions re-masked or held back since the block's schedule was made
};

// One denoising step over the masked positions before hi: a forward pass predicts each (and
// scores the written tokens editing may revise), the rule commits the most confident
// predictions (`scheduled` of them under low_confidence), and editing re-masks the written
// tokens the refiner no longer believes.
RefineStep denoise_step(DenoiseRun& run, int64_t hi, int64_t scheduled) {
  DenoiseState& s = run.state;
  const std::vector<int64_t> to_write = s.masked_before(hi), to_check = s.revisable();
  std::vector<int64_t> positions = to_write;
  positions.insert(positions.end(), to_check.begin(), to_check.end());
  at::Tensor logits = run.forward.logits_at(at::tensor(s.x, at::kLong).unsqueeze(0), positions);  // [m, vocab]
  logits.select(/*dim=*/1, run.mask).fill_(-std::numeric_limits<float>::infinity());  // never predict [MASK]
  const at::Tensor probs = at::softmax(logits, /*dim=*/-1);  // the model's own belief, before any sampling filter
  const Predictions pred = predict(logits, probs, to_write, run.section, s, run.p, run.sampler);
  std::vector<int64_t> commit;
  if (!to_write.empty())
    commit = run.p.rule == DecodeRule::kThreshold
                 ? select_by_threshold(pred.confidence, run.p.threshold)
                 : select_by_confidence(pred.confidence, std::clamp<int64_t>(scheduled, 1, int64_t(to_write.size())));
  const std::vector<int64_t> remask = choose_remasks(probs, int64_t(to_write.size()), to_check, s, run.p.edit_threshold);
  return apply_step(s, run.mask, to_write, pred, commit, remask, run.section, run.p, &run.deferred);
}

// Adds a step to the trace: its counts, and for each position the step that wrote it.
void record_step(RefineStep& step, RefineTrace& trace) {
  step.step = int64_t(trace.committed_per_step.size());
  for (int64_t i : step.committed) trace.commit_step[size_t(i)] = step.step;
  for (int64_t i : step.remasked) trace.commit_step[size_t(i)] = -1;
  trace.committed_per_step.push_back(int64_t(step.committed.size()));
  trace.remasked_per_step.push_back(int64_t(step.remasked.size()));
  trace.n_remasked += int64_t(step.remasked.size());
}

// Denoises one block [lo, hi) until nothing before hi is masked and, with editing, a step has
// changed nothing. The cache covers what no longer changes: the frozen context and, unless
// editing may revisit them, the blocks already written.
void refine_block(DenoiseRun& run, const ModelConfig& c, int64_t lo, int64_t hi, int64_t n_steps, bool first_block,
                  RefineTrace& trace, const RefineStepCallback& on_step) {
  DenoiseState& s = run.state;
  const RefineParams& p = run.p;
  const int64_t prefix = cacheable_prefix(c, s.editing ? s.first_writable : std::max(s.first_writable, lo));
  if (first_block) trace.n_prefix_cached = p.cache == RefineCache::kPrefix ? prefix : 0;
  std::vector<int64_t> changing;  // this block's masked positions and earlier ones; with editing, every writable one
  for (int64_t i = s.first_writable; i < (s.editing ? s.size() : hi); ++i)
    if (s.writable[size_t(i)]) changing.push_back(i);
  run.forward.begin_block(prefix, changing);
  if (first_block) trace.n_recomputed = run.forward.n_recomputed();
  const std::vector<int64_t> schedule = num_transfer_tokens(int64_t(s.masked_before(hi).size()), n_steps, p.schedule);
  run.deferred = 0;
  bool verified = false;  // the last step changed nothing
  for (int64_t step = 0;; ++step) {
    const int64_t n_to_write = int64_t(s.masked_before(hi).size());
    if (n_to_write == 0 && (!s.editing || verified || s.revisable().empty())) break;
    if (p.cache_refresh > 0 && step > 0 && step % p.cache_refresh == 0) run.forward.refresh();
    const int64_t scheduled = (step < int64_t(schedule.size()) ? schedule[size_t(step)] : n_to_write) + run.deferred;
    if (p.rule == DecodeRule::kLowConfidence && n_to_write > 0) run.deferred = 0;
    RefineStep rs = denoise_step(run, hi, scheduled);
    record_step(rs, trace);
    verified = rs.committed.empty() && rs.remasked.empty();
    rs.n_masked = int64_t(std::count(s.masked.begin(), s.masked.end(), 1));
    if (on_step) on_step(rs);
  }
}

}  // namespace

TokenId refiner_mask_id(const ModelConfig& c, const Tokenizer& tokenizer) {
  if (c.mask_token_id >= 0) return c.mask_token_id;
  const char* piece = c.family().mask_piece;
  const TokenId family_mask = piece ? tokenizer.piece_to_id(piece) : -1;
  return family_mask >= 0 ? family_mask : tokenizer.mask_id();
}

Refiner::Refiner(Transformer model, Tokenizer tokenizer) : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  const ModelConfig& c = model_->config();
  mask_id_ = refiner_mask_id(c, tokenizer_);
  if (mask_id_ < 0 && c.attention != AttentionMode::kCausal) {
    const char* piece = c.family().mask_piece;
    fail(tokenizer_.path(), "the refiner has no mask token: config.json has no mask_token_id and the tokenizer has no ",
         piece ? "'" + std::string(piece) + "' or " : std::string(), "'", Tokenizer::kMaskPiece, "' piece");
  }
  check_masked_diffusion_model(c, mask_id_, "refiner");
  if (c.vocab_size != tokenizer_.n_vocab())
    fail(tokenizer_.path(), "the tokenizer has ", tokenizer_.n_vocab(), " tokens but the refiner's vocab_size (config.json) is ",
         c.vocab_size);
  model_->eval();
}

Refiner Refiner::load(const std::string& model_dir, const std::string& adapter_dir, WeightsDType dtype,
                      DecodeBackend backend) {
  Transformer model = load_adapted_transformer(model_dir, adapter_dir, kernels_weights_dtype(model_dir, dtype, backend));
  return Refiner(std::move(model), Tokenizer::load_dir(model_dir));
}

RefineResult Refiner::refine(const Canvas& canvas, const RefineParams& p, const RefineStepCallback& on_step) {
  const auto start = std::chrono::steady_clock::now();
  p.validate();
  const ModelConfig& c = model_->config();
  DenoiseState state = start_state(canvas, p, c, mask_id());
  const NgramRegion section{state.x, state.known, state.section_begin, state.size(), p.no_repeat_ngram};
  CanvasForward forward(*model_, state.size(), p.cache, p.backend);
  TokenSampler sampler(p.sampler);
  DenoiseRun run{state, forward, section, p, mask_id(), sampler};
  RefineResult result;
  RefineTrace& trace = result.trace;
  trace.commit_step.assign(size_t(state.size()), -1);
  at::NoGradGuard no_grad;
  const BlockPlan plan = plan_blocks(state, c, p);
  for (int64_t lo = plan.first; lo < state.size(); lo += plan.length)
    refine_block(run, c, lo, std::min(state.size(), lo + plan.length), plan.steps_per_block, lo == plan.first, trace,
                 on_step);
  for (int64_t i = 0; i < state.size(); ++i)
    if (state.x[size_t(i)] != canvas.tokens[size_t(i)]) trace.changes.push_back({i, canvas.tokens[size_t(i)], state.x[size_t(i)]});
  trace.n_forward = forward.n_forward();
  trace.on_kernels = forward.on_kernels();
  result.tokens = std::move(state.x);
  trace.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<float> Refiner::token_probabilities(const Canvas& canvas) {
  const int64_t n = canvas.size();
  if (n > model_->config().max_position_embeddings)
    fail("refine", "the canvas of ", n, " tokens exceeds the refiner's context of ", model_->config().max_position_embeddings);
  const int64_t shift = model_->config().logits_alignment == LogitsAlignment::kShifted ? 1 : 0;
  std::vector<int64_t> positions;
  for (int64_t i = std::max<int64_t>(shift, 0); i < n; ++i)
    if (canvas.roles[size_t(i)] != CanvasRole::kFrozen) positions.push_back(i);
  std::vector<float> out(size_t(n), 1.0f);
  if (positions.empty()) return out;
  at::NoGradGuard no_grad;
  CanvasForward forward(*model_, n, RefineCache::kNone);
  at::Tensor probs = at::softmax(forward.logits_at(as_batch_tokens(canvas.tokens), positions), /*dim=*/-1);
  for (size_t j = 0; j < positions.size(); ++j)
    out[size_t(positions[j])] = probs[int64_t(j)][canvas.tokens[size_t(positions[j])]].item<float>();
  return out;
}

}  // namespace sculpt
