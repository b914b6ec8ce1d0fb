// The refiner: restoration by a tiny refiner trained in the test, frozen positions, threshold
// decoding, editing, semi-autoregressive blocks, the prefix cache, logits alignment, bad input.
#include "diffusion_refine/refiner.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "diffusion_refine/denoise_schedule.h"
#include "diffusion_refine/ngram_repeats.h"
#include "diffusion_refine/restoration.h"
#include "support/fixture_cache.h"
#include "support/test_util.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;

class RefinerTest : public ::testing::Test {
 protected:
  // One tokenizer and one refiner for the suite: a bidirectional masked-diffusion model trained
  // for a few seconds on templated sentences, with visible-token noise so it can edit.
  static void SetUpTestSuite() {
    dir_ = new TempDir("sculpt_refiner");
    sculpt::testing::cached_fixture("refiner", *dir_, [](const TempDir& d) {
      sculpt::testing::make_template_corpus(d, 300);
      sculpt::testing::train_tiny_model(d, "refiner", AttentionMode::kBidirectional, /*steps=*/250);
    });
    refiner_ = new Refiner(Refiner::load(dir_->file("refiner")));
  }
  static void TearDownTestSuite() {
    delete refiner_;
    delete dir_;
  }

  // Held-out text (seeds the training corpus never used), as token ids.
  static std::vector<int64_t> held_out(uint32_t k) {
    std::vector<int64_t> out;
    for (TokenId id : refiner_->tokenizer().encode(sculpt::testing::make_document(100000 + k, 3))) out.push_back(id);
    return out;
  }
  static std::vector<int64_t> bos() { return {refiner_->tokenizer().bos_id()}; }

  // A random-weight model over the suite's vocabulary (std 0.3: peaked enough for few ties).
  static Refiner random_refiner(AttentionMode attention, LogitsAlignment alignment, int64_t block_size = 0) {
    Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
    ModelConfig c = sculpt::testing::small_model_config(tok.n_vocab());
    c.attention = attention;
    c.block_size = block_size;
    c.logits_alignment = alignment;
    c.mask_token_id = tok.mask_id();
    Transformer model(c);
    sculpt::testing::randomise_weights(*model, 17);
    return Refiner(model, tok);
  }

  // Restoration of held-out text (30% of the tokens after the first `context_share` corrupted)
  // with `cached` against the same params with no cache: within 3 standard errors of exact.
  static void expect_restoration_near_exact(const char* cache, const RefineParams& cached, double context_share) {
    RefineParams exact = cached;
    exact.cache = RefineCache::kNone;
    int64_t restored_cached = 0, restored_exact = 0, corrupted = 0;
    for (uint32_t k = 0; k < 24; ++k) {
      const std::vector<int64_t> doc = held_out(k);
      const int64_t n_context = int64_t(double(doc.size()) * context_share);
      std::vector<int64_t> context = bos();
      context.insert(context.end(), doc.begin(), doc.begin() + n_context);
      const std::vector<int64_t> clean(doc.begin() + n_context, doc.end());
      const RestorationResult a = run_restoration(*refiner_, context, clean, 0.3, cached, k);
      const RestorationResult b = run_restoration(*refiner_, context, clean, 0.3, exact, k);
      restored_cached += a.n_restored;
      restored_exact += b.n_restored;
      corrupted += a.n_corrupted;
    }
    const double acc_cached = double(restored_cached) / double(corrupted);
    const double acc_exact = double(restored_exact) / double(corrupted);
    const double se = std::sqrt(2 * acc_exact * (1 - acc_exact) / double(corrupted));
    std::printf("restoration with the %s cache %.3f, exact %.3f (%lld tokens; 3 SE = %.3f)\n", cache, acc_cached,
                acc_exact, (long long)corrupted, 3 * se);
    EXPECT_GE(acc_cached, acc_exact - 3 * se);
  }

  static TempDir* dir_;
  static Refiner* refiner_;
};
TempDir* RefinerTest::dir_ = nullptr;
Refiner* RefinerTest::refiner_ = nullptr;

RefineParams one_per_step() {
  RefineParams p;
  p.steps = 1 << 20;  // as many steps as masked tokens
  return p;
}

TEST_F(RefinerTest, RestoresCorruptedTokensFarBeyondChance) {
  int64_t restored = 0, corrupted = 0;
  std::map<int64_t, int64_t> truth_counts;  // the true tokens at the corrupted positions
  for (uint32_t k = 0; k < 24; ++k) {
    const std::vector<int64_t> clean = held_out(k);
    const RestorationResult r = run_restoration(*refiner_, bos(), clean, 0.15, one_per_step(), k);
    restored += r.n_restored;
    corrupted += r.n_corrupted;
    // The same positions run_restoration corrupted: those where the draft was wrong.
    EXPECT_EQ(r.accounting.n_wrong_before, r.n_corrupted);
    EXPECT_EQ(r.accounting.n_fixed, r.n_restored);
    EXPECT_EQ(r.accounting.n_broken, 0);  // no editing: uncorrupted tokens are never touched
  }
  // Chance: the accuracy of always guessing the most frequent token of these texts (the
  // corrupted positions are a uniform sample of them), the best guess that ignores context;
  // margin: 4 binomial standard errors.
  for (uint32_t k = 0; k < 24; ++k)
    for (int64_t id : held_out(k)) ++truth_counts[id];
  int64_t best = 0, total = 0;
  for (const auto& [id, count] : truth_counts) {
    best = std::max(best, count);
    total += count;
  }
  const double chance = double(best) / double(total);
  const double accuracy = double(restored) / double(corrupted);
  const double margin = 4 * std::sqrt(chance * (1 - chance) / double(corrupted));
  std::printf("restored %lld of %lld (%.3f); chance %.3f + margin %.3f\n", (long long)restored, (long long)corrupted,
              accuracy, chance, margin);
  EXPECT_GT(accuracy, chance + margin);
}

TEST_F(RefinerTest, FrozenPositionsNeverChange) {
  const std::vector<int64_t> doc = held_out(1);
  const int64_t half = int64_t(doc.size()) / 2;
  std::vector<int64_t> context = bos();
  context.insert(context.end(), doc.begin(), doc.begin() + half);
  Canvas canvas = Canvas::from_parts(context, std::vector<int64_t>(doc.begin() + half, doc.end()));
  canvas.mark({{0, 3}, {6, 9}}, CanvasRole::kMasked);
  RefineParams p;
  p.sampler.temperature = 1.5;  // sampled predictions, editing of every draft token
  p.edit_threshold = 0.9;
  p.edit_scope = EditScope::kDraft;
  p.max_edits = 3;
  p.sampler.seed = 5;
  const RefineResult r = refiner_->refine(canvas, p);
  ASSERT_EQ(r.tokens.size(), canvas.tokens.size());
  for (int64_t i = 0; i < canvas.n_context; ++i) EXPECT_EQ(r.tokens[size_t(i)], canvas.tokens[size_t(i)]) << i;
  for (const TokenChange& c : r.trace.changes) EXPECT_GE(c.position, canvas.n_context);
  for (int64_t id : r.tokens) EXPECT_NE(id, refiner_->mask_id());
}

TEST_F(RefinerTest, ThresholdNearOneMatchesOneTokenPerStepAndLowerTauTakesFewerPasses) {
  int64_t passes_one = 0, passes_low = 0, masked = 0;
  for (uint32_t k = 0; k < 6; ++k) {
    const std::vector<int64_t> doc = held_out(k);
    Canvas canvas = Canvas::from_parts(bos(), doc);
    canvas.mark({{2, int64_t(doc.size()) - 2}}, CanvasRole::kMasked);
    const RefineResult baseline = refiner_->refine(canvas, one_per_step());
    RefineParams strict;
    strict.rule = DecodeRule::kThreshold;
    strict.threshold = 1.0;
    const RefineResult near_one = refiner_->refine(canvas, strict);
    EXPECT_EQ(near_one.tokens, baseline.tokens) << "doc " << k;
    EXPECT_EQ(near_one.trace.n_forward, baseline.trace.n_forward);
    RefineParams loose = strict;
    loose.threshold = 0.5;
    const RefineResult low = refiner_->refine(canvas, loose);
    masked += canvas.count(CanvasRole::kMasked);
    passes_one += near_one.trace.n_forward;
    passes_low += low.trace.n_forward;
  }
  EXPECT_EQ(passes_one, masked);
  std::printf("%lld masked tokens: %lld passes at tau 1, %lld at tau 0.5\n", (long long)masked,
              (long long)passes_one, (long long)passes_low);
  EXPECT_LT(passes_low, passes_one);
}

// One denoising step, as the step callback reports it: under low_confidence a step commits its
// share of the schedule (num_transfer_tokens) and nothing else; under the threshold rule every
// commit reaches tau but a lone fallback one; the steps add up to the trace.
TEST_F(RefinerTest, EachStepCommitsWhatItsRuleSaysAndTheStepsAddUpToTheTrace) {
  const std::vector<int64_t> doc = held_out(4);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  canvas.mark({{1, 11}}, CanvasRole::kMasked);  // 10 masked positions
  RefineParams p;
  p.steps = 4;
  std::vector<RefineStep> steps;
  const RefineResult r = refiner_->refine(canvas, p, [&](const RefineStep& s) { steps.push_back(s); });
  const std::vector<int64_t> schedule = num_transfer_tokens(10, 4, RemaskSchedule::kLinear);  // {3, 3, 2, 2}
  ASSERT_EQ(steps.size(), schedule.size());
  int64_t left = 10;
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].step, int64_t(i));
    EXPECT_EQ(int64_t(steps[i].committed.size()), schedule[i]) << "step " << i;
    left -= int64_t(steps[i].committed.size());
    EXPECT_EQ(steps[i].n_masked, left);
    for (size_t j = 0; j < steps[i].committed.size(); ++j) {
      const int64_t at = steps[i].committed[j];
      EXPECT_EQ(canvas.roles[size_t(at)], CanvasRole::kMasked);
      EXPECT_EQ(r.tokens[size_t(at)], steps[i].tokens[j]);
      EXPECT_EQ(r.trace.commit_step[size_t(at)], int64_t(i));
    }
    EXPECT_EQ(r.trace.committed_per_step[i], int64_t(steps[i].committed.size()));
  }
  RefineParams threshold;
  threshold.rule = DecodeRule::kThreshold;
  threshold.threshold = 0.6;
  steps.clear();
  refiner_->refine(canvas, threshold, [&](const RefineStep& s) { steps.push_back(s); });
  for (const RefineStep& s : steps) {
    ASSERT_FALSE(s.committed.empty());  // every step makes progress
    if (s.committed.size() > 1) {
      for (float c : s.confidence) EXPECT_GE(c, 0.6f);
    }
  }
}

TEST_F(RefinerTest, EditingRevisesADeliberatelyWrongToken) {
  const std::vector<int64_t> doc = held_out(3);
  const int64_t pos = int64_t(doc.size()) / 2;
  // The wrong token: the one the refiner finds least likely at that position.
  Canvas clean = Canvas::from_parts(bos(), doc);
  int64_t wrong = -1;
  {
    at::NoGradGuard no_grad;
    at::Tensor tokens = at::tensor(clean.tokens, at::kLong).unsqueeze(0);
    at::Tensor logits = refiner_->model()->forward(tokens)[0][clean.n_context + pos].clone();
    logits[refiner_->mask_id()] = std::numeric_limits<float>::infinity();  // never the mask itself
    wrong = logits.argmin().item<int64_t>();
  }
  std::vector<int64_t> draft = doc;
  draft[size_t(pos)] = wrong;
  Canvas canvas = Canvas::from_parts(bos(), draft);
  RefineParams p;
  p.edit_threshold = 0.3;
  p.edit_scope = EditScope::kDraft;
  const RefineResult r = refiner_->refine(canvas, p);
  const int64_t at = canvas.n_context + pos;
  EXPECT_NE(r.tokens[size_t(at)], wrong);
  EXPECT_GT(r.trace.n_remasked, 0);
  const std::vector<float> before = refiner_->token_probabilities(canvas);
  Canvas after = canvas;
  after.tokens = r.tokens;
  const std::vector<float> now = refiner_->token_probabilities(after);
  std::printf("p(wrong) %.4f -> p(new) %.4f; restored the original: %s\n", before[size_t(at)], now[size_t(at)],
              r.tokens[size_t(at)] == doc[size_t(pos)] ? "yes" : "no");
  EXPECT_GT(now[size_t(at)], before[size_t(at)]);
  // Without editing the same canvas has nothing to do.
  EXPECT_THAT([&] { refiner_->refine(canvas, RefineParams{}); }, ::testing::ThrowsMessage<Error>(HasSubstr("nothing to refine")));
}

TEST_F(RefinerTest, SemiAutoregressiveBlocksCommitLeftToRight) {
  const std::vector<int64_t> doc = held_out(4);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  canvas.mark({{0, 24}}, CanvasRole::kMasked);
  RefineParams p;
  p.block_length = 8;
  p.steps = 12;  // 4 per block
  const RefineResult r = refiner_->refine(canvas, p);
  EXPECT_EQ(r.trace.committed_per_step.size(), 12u);
  for (int64_t b = 0; b + 1 < 3; ++b) {
    int64_t last = -1, first_next = 1 << 30;
    for (int64_t i = 0; i < 8; ++i) {
      last = std::max(last, r.trace.commit_step[size_t(canvas.n_context + b * 8 + i)]);
      first_next = std::min(first_next, r.trace.commit_step[size_t(canvas.n_context + (b + 1) * 8 + i)]);
    }
    EXPECT_LT(last, first_next) << "block " << b;
  }
}

// No written token completes an n-gram that occurs elsewhere in the section (visible draft
// tokens included), whether one or many tokens commit per step; without the constraint the
// same canvases do repeat, so the check has something to catch.
TEST_F(RefinerTest, NoRepeatNgramIsNeverBroken) {
  const std::vector<int64_t> doc = held_out(2);
  const int64_t n_draft = std::min<int64_t>(int64_t(doc.size()), 40);
  const std::vector<int64_t> draft(doc.begin(), doc.begin() + n_draft);
  int64_t repeats_without = 0;
  for (int n : {1, 2, 3})
    for (int steps : {3, 1 << 20})
      for (bool all_masked : {true, false}) {
        Canvas canvas = Canvas::from_parts(bos(), draft);
        if (all_masked) canvas.mark({{0, n_draft}}, CanvasRole::kMasked);
        else canvas.mark({{2, 9}, {14, n_draft - 3}}, CanvasRole::kMasked);
        RefineParams p;
        p.steps = steps;
        const RefineResult free = refiner_->refine(canvas, p);
        p.no_repeat_ngram = n;
        const RefineResult r = refiner_->refine(canvas, p);
        const std::vector<uint8_t> known(r.tokens.size(), 1);
        for (int64_t i = canvas.n_context; i < canvas.size(); ++i) {
          if (canvas.roles[size_t(i)] != CanvasRole::kMasked) continue;
          EXPECT_FALSE((NgramRegion{r.tokens, known, canvas.n_context, canvas.size(), n}.repeats_at(i)))
              << "n " << n << " steps " << steps << " position " << i;
          repeats_without += (NgramRegion{free.tokens, known, canvas.n_context, canvas.size(), n}.repeats_at(i));
        }
        int64_t committed = 0;
        for (int64_t c : r.trace.committed_per_step) committed += c;
        EXPECT_EQ(committed, canvas.count(CanvasRole::kMasked));
      }
  EXPECT_GT(repeats_without, 0);
}

// Under bidirectional attention the cached prefix never sees the span's later tokens, so
// results differ from exact recomputation (token by token, one early difference cascades);
// what must hold is that restoration quality stays within sampling error of exact.
TEST_F(RefinerTest, PrefixCacheAgreesCloselyUnderBidirectionalAttention) {
  RefineParams cached = one_per_step();
  cached.block_length = 16;  // later blocks also cache the blocks written before them
  expect_restoration_near_exact("prefix", cached, 0.5);

  // The cache is used: the frozen prefix is served from it.
  const std::vector<int64_t> doc = held_out(0);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  canvas.mark({{10, int64_t(doc.size())}}, CanvasRole::kMasked);
  EXPECT_EQ(refiner_->refine(canvas, RefineParams{}).trace.n_prefix_cached, canvas.n_context + 10);
  RefineParams off;
  off.cache = RefineCache::kNone;
  EXPECT_EQ(refiner_->refine(canvas, off).trace.n_prefix_cached, 0);
}

// The span cache (every position outside the spans encoded once per block) is an approximation
// too: restoration within sampling error of exact; refreshed at every step it is exact.
TEST_F(RefinerTest, SpanCacheAgreesCloselyAndRefreshedEveryStepIsExact) {
  RefineParams cached = one_per_step();
  cached.cache = RefineCache::kSpans;
  expect_restoration_near_exact("span", cached, 0.25);

  // Spans in the middle of a draft: only they (and the positions predicting them) are rerun.
  const std::vector<int64_t> doc = held_out(1);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  canvas.mark({{4, 8}, {20, 22}}, CanvasRole::kMasked);
  RefineParams spans;
  spans.cache = RefineCache::kSpans;
  spans.steps = 3;
  const RefineResult once = refiner_->refine(canvas, spans);
  EXPECT_EQ(once.trace.n_recomputed, 6);  // unshifted logits: a position predicts itself
  EXPECT_EQ(once.trace.n_prefix_cached, 0);
  spans.cache_refresh = 1;
  RefineParams exact;
  exact.cache = RefineCache::kNone;
  exact.steps = 3;
  const RefineResult refreshed = refiner_->refine(canvas, spans), recomputed = refiner_->refine(canvas, exact);
  EXPECT_EQ(refreshed.tokens, recomputed.tokens);
  EXPECT_EQ(refreshed.trace.committed_per_step, recomputed.trace.committed_per_step);
}

// Block-causal attention makes the context an exact prefix: its cache (and that of the blocks
// already written) gives exactly what recomputation gives, with either logits alignment.
TEST_F(RefinerTest, PrefixCacheIsExactUnderBlockCausalAttention) {
  for (LogitsAlignment alignment : {LogitsAlignment::kUnshifted, LogitsAlignment::kShifted}) {
    SCOPED_TRACE(logits_alignment_name(alignment));
    Refiner refiner = random_refiner(AttentionMode::kBlockCausal, alignment, /*block_size=*/4);
    std::vector<int64_t> context = held_out(2);
    context.resize(10);
    std::vector<int64_t> draft = held_out(5);
    draft.resize(20);
    Canvas canvas = Canvas::from_parts(context, draft);
    canvas.mark({{0, 20}}, CanvasRole::kMasked);
    RefineParams on;
    on.steps = 10;
    on.block_length = 5;  // rounded up to the model's blocks: 8
    RefineParams off = on;
    off.cache = RefineCache::kNone;
    const RefineResult a = refiner.refine(canvas, on), b = refiner.refine(canvas, off);
    EXPECT_EQ(a.trace.n_prefix_cached, 8);  // the context's complete blocks
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.trace.committed_per_step, b.trace.committed_per_step);
    EXPECT_EQ(a.trace.n_forward, b.trace.n_forward);
  }
}

// A block-causal model writes its own blocks in order, each finished before the next starts:
// a block's positions never see the blocks after it, so those must wait for it.
TEST_F(RefinerTest, BlockCausalModelsDecodeTheirBlocksInOrder) {
  Refiner refiner = random_refiner(AttentionMode::kBlockCausal, LogitsAlignment::kShifted, /*block_size=*/4);
  std::vector<int64_t> draft = held_out(7);
  draft.resize(22);
  Canvas canvas = Canvas::from_parts(bos(), draft);  // canvas positions 1 .. 22 masked
  canvas.mark({{0, 22}}, CanvasRole::kMasked);
  RefineParams p;
  p.steps = 12;
  const RefineResult r = refiner.refine(canvas, p);
  std::map<int64_t, std::pair<int64_t, int64_t>> steps_of_block;  // model block -> first, last commit step
  for (int64_t i = 1; i < canvas.size(); ++i) {
    const int64_t s = r.trace.commit_step[size_t(i)];
    ASSERT_GE(s, 0) << i;
    auto [it, fresh] = steps_of_block.try_emplace(i / 4, s, s);
    it->second.first = std::min(it->second.first, s);
    it->second.second = std::max(it->second.second, s);
  }
  ASSERT_EQ(steps_of_block.size(), 6u);
  for (int64_t blk = 0; blk + 1 < 6; ++blk)
    EXPECT_LT(steps_of_block[blk].second, steps_of_block[blk + 1].first) << "block " << blk;
}

TEST_F(RefinerTest, ShiftedLogitsReadThePreviousPosition) {
  Refiner refiner = random_refiner(AttentionMode::kBidirectional, LogitsAlignment::kShifted);
  std::vector<int64_t> doc = held_out(6);
  doc.resize(16);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  const std::vector<float> probs = refiner.token_probabilities(canvas);
  at::NoGradGuard no_grad;
  at::Tensor full = at::softmax(refiner.model()->forward(at::tensor(canvas.tokens, at::kLong).unsqueeze(0))[0], -1);
  for (int64_t i = 1; i < canvas.size(); ++i)
    EXPECT_NEAR(probs[size_t(i)], full[i - 1][canvas.tokens[size_t(i)]].item<float>(), 1e-6) << i;
  Canvas at_zero = Canvas::from_parts({}, doc);
  at_zero.mark({{0, 2}}, CanvasRole::kMasked);
  EXPECT_THAT([&] { refiner.refine(at_zero, RefineParams{}); }, ::testing::ThrowsMessage<Error>(HasSubstr("position 0")));
  canvas.mark({{3, 6}}, CanvasRole::kMasked);
  EXPECT_EQ(refiner.refine(canvas, RefineParams{}).tokens.size(), canvas.tokens.size());
}

// The shipped refiner writes the same tokens on the CPU kernels as on LibTorch: 48 masked tokens
// after a prompt and 16 re-masked in the middle of a text, one token per step, under each cache.
TEST(ShippedRefinerTest, KernelsWriteTheSameTokensAsLibTorch) {
  Refiner refiner = Refiner::load(SCULPT_SOURCE_DIR "/models/refiner");
  for (const auto& p : refiner.model()->named_parameters())  // held as stored (float16): the kernels read it
    ASSERT_EQ(p.value().scalar_type(), at::kHalf) << p.key();
  const Tokenizer& tok = refiner.tokenizer();
  std::vector<int64_t> prompt = {tok.bos_id()};
  for (TokenId id : tok.encode("The jury said it did find that many of the city's")) prompt.push_back(id);
  Canvas after_prompt = Canvas::from_parts(prompt, std::vector<int64_t>(48, refiner.mask_id()));
  after_prompt.mark({{0, 48}}, CanvasRole::kMasked);
  std::vector<int64_t> text = {tok.bos_id()};
  for (TokenId id : tok.encode("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
                               "election produced no evidence that any irregularities took place. The jury further "
                               "said in term-end presentments that the City Executive Committee"))
    text.push_back(id);
  Canvas middle = Canvas::from_parts({}, text);
  middle.mark({{10, 18}, {24, 32}}, CanvasRole::kMasked);
  for (const Canvas* canvas : {&after_prompt, &middle})
    for (RefineCache cache : {RefineCache::kNone, RefineCache::kPrefix, RefineCache::kSpans}) {
      SCOPED_TRACE(int(cache));
      RefineParams p;
      p.steps = canvas == &after_prompt ? 48 : 16;
      p.cache = cache;
      const RefineResult on_kernels = refiner.refine(*canvas, p);
      p.backend = DecodeBackend::kLibTorch;
      const RefineResult on_libtorch = refiner.refine(*canvas, p);
      EXPECT_TRUE(on_kernels.trace.on_kernels);
      EXPECT_FALSE(on_libtorch.trace.on_kernels);
      EXPECT_EQ(on_kernels.tokens, on_libtorch.tokens);
      EXPECT_NE(on_kernels.tokens, canvas->tokens);
    }
}

TEST_F(RefinerTest, BadInputGivesClearErrors) {
  Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
  ModelConfig c = refiner_->model()->config();
  c.attention = AttentionMode::kCausal;
  EXPECT_THAT([&] { Refiner(Transformer(c), tok); }, ::testing::ThrowsMessage<Error>(HasSubstr("bidirectional or block_causal")));
  // Without config.json's mask_token_id the refiner takes the tokenizer's piece of the model's
  // family (Fast-dLLM v2's "|<MASK>|"), else its [MASK]; with neither it refuses, naming both.
  c = refiner_->model()->config();
  c.mask_token_id = -1;
  EXPECT_EQ(Refiner(Transformer(c), tok).mask_id(), tok.mask_id());
  TokenizerTrainParams family_mask;
  family_mask.input_files = {dir_->file("tok.txt")};
  family_mask.vocab_size = int(tok.n_vocab());
  family_mask.mask_piece = "|<MASK>|";
  family_mask.model_prefix = dir_->file("family_mask");
  train_tokenizer(family_mask);
  const Tokenizer fast_tok = Tokenizer::load(dir_->file("family_mask.model"));
  ASSERT_EQ(fast_tok.mask_id(), -1);
  ASSERT_GE(fast_tok.piece_to_id("|<MASK>|"), 0);
  EXPECT_THAT([&] { Refiner(Transformer(c), fast_tok); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no mask token: config.json has no mask_token_id and the "
                                                        "tokenizer has no '[MASK]' piece")));
  c.model_type = "Fast_dLLM_Qwen";
  EXPECT_EQ(Refiner(Transformer(c), fast_tok).mask_id(), fast_tok.piece_to_id("|<MASK>|"));
  EXPECT_EQ(Refiner(Transformer(c), tok).mask_id(), tok.mask_id());
  c.model_type = "sdar";  // its mask piece is "<|MASK|>"
  EXPECT_THAT([&] { Refiner(Transformer(c), fast_tok); },
              ::testing::ThrowsMessage<Error>(HasSubstr("the tokenizer has no '<|MASK|>' or '[MASK]' piece")));
  c = refiner_->model()->config();
  c.vocab_size += 1;
  EXPECT_THAT([&] { Refiner(Transformer(c), tok); }, ::testing::ThrowsMessage<Error>(HasSubstr("vocab_size")));

  const std::vector<int64_t> doc = held_out(0);
  Canvas canvas = Canvas::from_parts(bos(), doc);
  EXPECT_THAT([&] { canvas.mark({{0, int64_t(doc.size()) + 1}}, CanvasRole::kMasked); },
              ::testing::ThrowsMessage<Error>(HasSubstr("outside the draft")));
  Canvas long_canvas = Canvas::from_parts(std::vector<int64_t>(200, 5), doc);
  long_canvas.mark({{0, 2}}, CanvasRole::kMasked);
  EXPECT_THAT([&] { refiner_->refine(long_canvas, RefineParams{}); }, ::testing::ThrowsMessage<Error>(HasSubstr("context")));
  canvas.mark({{0, 2}}, CanvasRole::kMasked);
  RefineParams bad;
  bad.sampler.top_p = 0;
  EXPECT_THAT([&] { refiner_->refine(canvas, bad); }, ::testing::ThrowsMessage<Error>(HasSubstr("top_p")));
  EXPECT_THAT([&] { Refiner::load(dir_->file("nope")); }, ::testing::ThrowsMessage<Error>(HasSubstr("does not exist")));
}

// Whether a draft's ids can go to the refiner as they are (else the pipeline hands it over as text).
TEST_F(RefinerTest, VocabularyExtendsComparesEveryPieceOfTheBase) {
  EXPECT_TRUE(vocabulary_extends(refiner_->tokenizer(), Tokenizer::load(dir_->file("tok.model"))));
  // Another vocabulary of another size, and one of the same size with other pieces.
  TokenizerTrainParams p;
  sculpt::testing::write_file(dir_->file("other.txt"), "Completely different words: zebra quartz, fjord; nymph.\n");
  p.input_files = {dir_->file("tok.txt"), dir_->file("other.txt")};
  p.vocab_size = 320;
  p.model_prefix = dir_->file("small");
  train_tokenizer(p);
  EXPECT_FALSE(vocabulary_extends(refiner_->tokenizer(), Tokenizer::load(dir_->file("small.model"))));
  EXPECT_FALSE(vocabulary_extends(Tokenizer::load(dir_->file("small.model")), refiner_->tokenizer()));  // larger, other pieces
  p.vocab_size = 300;
  p.model_type = TokenizerTrainParams::ModelType::kUnigram;
  p.model_prefix = dir_->file("unigram");
  train_tokenizer(p);
  const Tokenizer unigram = Tokenizer::load(dir_->file("unigram.model"));
  ASSERT_EQ(unigram.n_vocab(), refiner_->tokenizer().n_vocab());
  EXPECT_FALSE(vocabulary_extends(refiner_->tokenizer(), unigram));
}

}  // namespace
}  // namespace sculpt
