// Refiner: the denoising loop over a canvas (commit rules, semi-AR blocks, editing, prefix cache).
#include "diffusion_refine/refiner.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/lora.h"
#include "core/logit_filters.h"
#include "core/masked_diffusion.h"
#include "diffusion_refine/canvas_forward.h"
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

// Draws one prediction per row of logits [m, vocab] (argmax at temperature 0).
at::Tensor sample_predictions(const at::Tensor& logits, const RefineParams& p, at::Generator& gen) {
  if (p.temperature == 0) return logits.argmax(/*dim=*/-1);
  at::Tensor filtered = apply_top_p(apply_top_k(apply_temperature(logits, p.temperature), p.top_k), p.top_p);
  return at::multinomial(at::softmax(filtered, /*dim=*/-1), /*num_samples=*/1, /*replacement=*/false, gen).squeeze(1);
}

at::Tensor as_batch_tokens(const std::vector<int64_t>& x) {
  return at::tensor(x, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);  // [1, n]
}

}  // namespace

void RefineParams::validate() const {
  if (!(top_p > 0 && top_p <= 1)) fail("refine.top_p", "must be in (0, 1], got ", top_p);
  if (steps < 1) fail("refine.steps", "must be at least 1, got ", steps);
  if (!(threshold >= 0 && threshold <= 1)) fail("refine.threshold", "must be in [0, 1], got ", threshold);
  if (!(edit_threshold >= 0 && edit_threshold <= 1))
    fail("refine.edit_threshold", "must be in [0, 1], got ", edit_threshold);
  if (block_length < 0) fail("refine.block_length", "must be >= 0, got ", block_length);
  if (!(temperature >= 0)) fail("refine.temperature", "must be >= 0, got ", temperature);
}

Refiner::Refiner(Transformer model, Tokenizer tokenizer) : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  const ModelConfig& c = model_->config();
  check_masked_diffusion_model(c, "refiner");
  if (c.vocab_size != tokenizer_.n_vocab())
    fail(tokenizer_.path(), "the tokenizer has ", tokenizer_.n_vocab(), " pieces but the refiner's vocab_size is ",
         c.vocab_size);
  model_->eval();
}

Refiner Refiner::load(const std::string& model_dir, const std::string& adapter_dir) {
  Transformer model = load_adapted_transformer(model_dir, adapter_dir);
  const std::string tok_path = model_dir + "/tokenizer.model";
  if (!file_exists(tok_path)) fail(tok_path, "missing: the refiner's model directory must hold its tokenizer");
  return Refiner(std::move(model), Tokenizer::load(tok_path));
}

void Refiner::check_draft_tokenizer(const Tokenizer& drafter) const {
  if (drafter.n_vocab() != tokenizer_.n_vocab())
    fail(drafter.path(), "the drafter's vocabulary has ", drafter.n_vocab(), " pieces but the refiner's (",
         tokenizer_.path(), ") has ", tokenizer_.n_vocab(), ": drafter and refiner must share one tokenizer");
  for (int32_t id = 0; id < drafter.n_vocab(); ++id)
    if (drafter.id_to_piece(id) != tokenizer_.id_to_piece(id))
      fail(drafter.path(), "piece ", id, " is '", drafter.id_to_piece(id), "' for the drafter but '",
           tokenizer_.id_to_piece(id), "' for the refiner (", tokenizer_.path(), "): they must share one tokenizer");
}

RefineResult Refiner::refine(const Canvas& canvas, const RefineParams& p) {
  const auto start = std::chrono::steady_clock::now();
  p.validate();
  const ModelConfig& c = model_->config();
  const int64_t n = canvas.size();
  if (int64_t(canvas.roles.size()) != n) fail("refine", "canvas has ", n, " tokens but ", canvas.roles.size(), " roles");
  if (n > c.max_position_embeddings)
    fail("refine", "the canvas of ", n, " tokens exceeds the refiner's context of ", c.max_position_embeddings);
  const bool editing = p.edit_threshold > 0 && p.max_edits > 0;
  const int64_t mask = mask_id();

  std::vector<int64_t> x = canvas.tokens;
  std::vector<uint8_t> masked(size_t(n), 0), writable(size_t(n), 0);
  std::vector<int> edits_left(size_t(n), p.max_edits);
  int64_t first_writable = n;
  for (int64_t i = 0; i < n; ++i) {
    if (x[size_t(i)] < 0 || x[size_t(i)] >= c.vocab_size)
      fail("refine", "token ", x[size_t(i)], " at position ", i, " is outside the vocabulary");
    const CanvasRole role = canvas.roles[size_t(i)];
    if (role == CanvasRole::kMasked) {
      masked[size_t(i)] = writable[size_t(i)] = 1;
      x[size_t(i)] = mask;
    } else if (role == CanvasRole::kDraft && editing && p.edit_scope == EditScope::kDraft) {
      writable[size_t(i)] = 1;
    }
    if (writable[size_t(i)]) first_writable = std::min(first_writable, i);
  }
  // The section no-repeat-n-gram checks: the canvas after its frozen context.
  int64_t section_begin = 0;
  while (section_begin < n && canvas.roles[size_t(section_begin)] == CanvasRole::kFrozen) ++section_begin;
  std::vector<uint8_t> known(size_t(n), 1);
  const NgramRegion section{x, known, section_begin, n, p.no_repeat_ngram};
  if (first_writable == n) fail("refine", "nothing to refine: the canvas has no masked positions (and no editable draft)");
  if (c.logits_alignment == LogitsAlignment::kShifted && first_writable == 0)
    fail("refine", "under shifted logits position 0 cannot be written (no position predicts it): put context before it");

  const CanvasCache cache_mode = p.span_cache ? CanvasCache::kSpans
                                 : p.prefix_cache ? CanvasCache::kPrefix
                                                  : CanvasCache::kNone;
  CanvasForward forward(*model_, n, cache_mode);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(p.seed));
  RefineResult result;
  RefineTrace& trace = result.trace;
  trace.commit_step.assign(size_t(n), -1);
  at::NoGradGuard no_grad;

  // Semi-autoregressive blocks of canvas positions [lo, hi), left to right from the first
  // writable position; the steps are shared equally by the blocks that hold masked positions.
  // A block-causal model decodes its own blocks, as it was trained (BD3-LM): boundaries at
  // multiples of block_size, block_length rounded up to one (0 = one model block).
  int64_t first_block = first_writable, block = p.block_length > 0 ? p.block_length : n - first_writable;
  if (c.attention == AttentionMode::kBlockCausal) {
    first_block = first_writable / c.block_size * c.block_size;
    block = std::max<int64_t>(1, (p.block_length + c.block_size - 1) / c.block_size) * c.block_size;
  }
  int64_t n_busy_blocks = 0;
  for (int64_t lo = first_block; lo < n; lo += block)
    n_busy_blocks += std::any_of(masked.begin() + lo, masked.begin() + std::min(n, lo + block), [](uint8_t m) { return m; });
  const int64_t steps_per_block = std::max<int64_t>(1, p.steps / std::max<int64_t>(1, n_busy_blocks));

  for (int64_t lo = first_block; lo < n; lo += block) {
    const int64_t hi = std::min(n, lo + block);
    // Commits come from the masked positions before hi: this block's, and earlier ones that
    // editing re-masked.
    auto active_masked = [&] {
      std::vector<int64_t> out;
      for (int64_t i = first_writable; i < hi; ++i) if (masked[size_t(i)]) out.push_back(i);
      return out;
    };
    // The cache covers what no longer changes: the frozen context and, unless editing may
    // revisit them, the blocks already written.
    const int64_t prefix = cacheable_prefix(c, editing ? first_writable : std::max(first_writable, lo));
    if (lo == first_block) trace.n_prefix_cached = cache_mode == CanvasCache::kPrefix ? prefix : 0;
    // What may change in this block: its masked positions and earlier ones, and with editing
    // every writable position.
    std::vector<int64_t> changing;
    for (int64_t i = first_writable; i < (editing ? n : hi); ++i) if (writable[size_t(i)]) changing.push_back(i);
    forward.begin_block(prefix, changing);
    if (lo == first_block) trace.n_recomputed = forward.n_recomputed();
    const std::vector<int64_t> schedule =
        num_transfer_tokens(int64_t(active_masked().size()), steps_per_block, p.schedule);
    int64_t step = 0, carried = 0;  // carried: positions re-masked since the schedule was made
    bool verified = false;
    while (true) {
      const std::vector<int64_t> to_write = active_masked();
      if (to_write.empty() && (!editing || verified)) break;
      std::vector<int64_t> to_check;  // written tokens that editing may re-mask
      if (editing)
        for (int64_t i = first_writable; i < n; ++i)
          if (writable[size_t(i)] && !masked[size_t(i)] && edits_left[size_t(i)] > 0) to_check.push_back(i);
      if (to_write.empty() && to_check.empty()) break;

      if (p.cache_refresh > 0 && step > 0 && step % p.cache_refresh == 0) forward.refresh();
      std::vector<int64_t> positions = to_write;
      positions.insert(positions.end(), to_check.begin(), to_check.end());
      at::Tensor logits = forward.logits_at(as_batch_tokens(x), positions);  // [m, vocab]
      logits.select(/*dim=*/1, mask).fill_(-std::numeric_limits<float>::infinity());  // never predict [MASK]
      at::Tensor probs = at::softmax(logits, /*dim=*/-1);  // the model's own belief, before any sampling filter

      // Predictions for the masked positions, and how sure the model is of them.
      const int64_t m_write = int64_t(to_write.size());
      std::vector<int64_t> predicted;
      std::vector<float> confidence;
      if (m_write > 0) {
        if (p.no_repeat_ngram > 0) {  // after `probs`: confidence stays the model's own
          for (int64_t i = 0; i < n; ++i) known[size_t(i)] = !masked[size_t(i)];
          for (int64_t j = 0; j < m_write; ++j)
            for (int64_t b : section.banned_at(to_write[size_t(j)]))
              logits[j][b] = -std::numeric_limits<float>::infinity();
        }
        at::Tensor pred = sample_predictions(logits.narrow(0, 0, m_write), p, gen);  // [m_write]
        at::Tensor conf = probs.narrow(0, 0, m_write).gather(1, pred.unsqueeze(1)).squeeze(1);
        predicted.assign(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + m_write);
        confidence.assign(conf.data_ptr<float>(), conf.data_ptr<float>() + m_write);
      }
      std::vector<int64_t> commit;
      if (m_write > 0) {
        if (p.rule == DecodeRule::kThreshold) {
          commit = select_by_threshold(confidence, p.threshold);
        } else {
          const int64_t k = (step < int64_t(schedule.size()) ? schedule[size_t(step)] : m_write) + carried;
          commit = select_by_confidence(confidence, std::clamp<int64_t>(k, 1, m_write));
          carried = 0;
        }
      }
      // Editing: a written token whose probability under the refiner fell below eta.
      std::vector<int64_t> remask;
      if (!to_check.empty()) {
        std::vector<int64_t> current;
        for (int64_t i : to_check) current.push_back(x[size_t(i)]);
        at::Tensor p_current = probs.narrow(0, m_write, int64_t(to_check.size()))
                                   .gather(1, at::tensor(current, at::kLong).unsqueeze(1))
                                   .squeeze(1)
                                   .contiguous();  // [n_check]
        const float* pc = p_current.data_ptr<float>();
        for (size_t j = 0; j < to_check.size(); ++j)
          if (pc[j] < p.edit_threshold) remask.push_back(to_check[j]);
      }
      const int64_t global_step = int64_t(trace.committed_per_step.size());
      int64_t n_committed = 0;
      for (int64_t j : commit) {
        const int64_t i = to_write[size_t(j)];
        x[size_t(i)] = predicted[size_t(j)];
        masked[size_t(i)] = 0;
        known[size_t(i)] = 1;
        // Predictions were made apart: two committed together may still form a repeat. The
        // later one waits for the next step, whose ban sees the first (the first commit of a
        // step never waits, so every step makes progress).
        if (p.no_repeat_ngram > 0 && section.repeats_at(i)) {
          x[size_t(i)] = mask;
          masked[size_t(i)] = 1;
          known[size_t(i)] = 0;
          ++carried;
          continue;
        }
        trace.commit_step[size_t(i)] = global_step;
        ++n_committed;
      }
      for (int64_t i : remask) {
        x[size_t(i)] = mask;
        masked[size_t(i)] = 1;
        --edits_left[size_t(i)];
        trace.commit_step[size_t(i)] = -1;
      }
      carried += int64_t(remask.size());
      trace.committed_per_step.push_back(n_committed);
      trace.remasked_per_step.push_back(int64_t(remask.size()));
      trace.n_remasked += int64_t(remask.size());
      verified = n_committed == 0 && remask.empty();
      ++step;
    }
  }

  for (int64_t i = 0; i < n; ++i)
    if (x[size_t(i)] != canvas.tokens[size_t(i)]) trace.changes.push_back({i, canvas.tokens[size_t(i)], x[size_t(i)]});
  trace.n_forward = forward.n_forward();
  result.tokens = std::move(x);
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
  CanvasForward forward(*model_, n, CanvasCache::kNone);
  at::Tensor probs = at::softmax(forward.logits_at(as_batch_tokens(canvas.tokens), positions), /*dim=*/-1);
  for (size_t j = 0; j < positions.size(); ++j)
    out[size_t(positions[j])] = probs[int64_t(j)][canvas.tokens[size_t(positions[j])]].item<float>();
  return out;
}

}  // namespace sculpt
