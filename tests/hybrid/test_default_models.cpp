// The shipped default models (models/drafter, refiner, ar_base, evaluator): they load, share one
// tokenizer, and do their jobs on English they never saw (a paragraph written for this test,
// spaced as scripts/prepare_brown.sh spaces the corpus) better than baselines computed from that
// text; the strong baseline and the evaluator are larger causal models on the same tokenizer.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/restoration.h"

namespace sculpt {
namespace {

const std::string kModels = std::string(SCULPT_SOURCE_DIR) + "/models";

const char* kParagraph =
    "The council met on Tuesday evening to discuss the new budget, and several members said that "
    "the city could not afford to build another school this year. The mayor told reporters that he "
    "would ask the state for more money, but he added that the people of the county had already "
    "paid more than their share. After the meeting, a group of parents gathered outside the hall "
    "and said they would return next week with a petition signed by more than two hundred families. "
    "One of them, a teacher who had lived in the town for twenty years, said the children deserved "
    "better rooms and that the present building was too old and too small for the number of pupils.";

// Shannon entropy (nats) of the unigram distribution of `ids`, fitted on `ids` themselves: the
// best any model that ignores context can do on this text, and optimistic at that.
double unigram_entropy(const std::vector<int64_t>& ids) {
  std::map<int64_t, double> counts;
  for (int64_t id : ids) counts[id] += 1;
  double h = 0;
  for (const auto& [id, c] : counts) h -= c / double(ids.size()) * std::log(c / double(ids.size()));
  return h;
}

TEST(DefaultModelsTest, LoadAndShareOneTokenizer) {
  Drafter drafter = Drafter::load(kModels + "/drafter");
  Refiner refiner = Refiner::load(kModels + "/refiner");
  EXPECT_TRUE(vocabulary_extends(refiner.tokenizer(), drafter.tokenizer()));
  EXPECT_EQ(drafter.model()->config().attention, AttentionMode::kCausal);
  EXPECT_NE(refiner.model()->config().attention, AttentionMode::kCausal);
  EXPECT_EQ(drafter.model()->config().torch_dtype, "float16");
  EXPECT_EQ(refiner.model()->config().torch_dtype, "float16");
}

TEST(DefaultModelsTest, DrafterPredictsUnseenEnglishBetterThanItsUnigrams) {
  Drafter drafter = Drafter::load(kModels + "/drafter");
  const ScoreResult s = score_text(*drafter.model(), drafter.tokenizer(), kParagraph);
  const double nll = s.nll / double(s.ids.size()), unigram = unigram_entropy(s.ids);
  std::printf("drafter %.3f nats/token (perplexity %.1f); the text's own unigram entropy %.3f\n", nll, s.perplexity,
              unigram);
  // The text's own unigram entropy is a lower bound on what any context-free model scores on it,
  // and an optimistic one: 148 tokens over 4,096 pieces, most of them seen once (with the
  // previous generation's 1,024 pieces the drafter beat it by 1.7 nats, now by 0.30). Beating
  // it by a quarter nat per token (37 nats over the paragraph) needs the context.
  EXPECT_LT(nll, unigram - 0.25);

  DraftParams p;
  p.max_tokens = 24;
  p.sampler.temperature = 0;
  const std::vector<DraftResult> out = drafter.draft({"The jury said that"}, p);
  ASSERT_EQ(out.size(), 1u);
  std::printf("draft: The jury said that%s\n", out[0].text.c_str());
  EXPECT_GE(out[0].tokens.size(), 8u);
}

int64_t parameter_count(TransformerImpl& model) {
  int64_t n = 0;
  for (const at::Tensor& p : model.parameters()) n += p.numel();
  return n;
}

// Not asserted: that they score this paragraph better than the drafter. On Brown's 1.45M tokens
// depth buys almost nothing (validation 4.535 and 4.522 against the drafter's 4.541, README,
// Default models), and on this one paragraph the drafter scores best; the printout shows it.
TEST(DefaultModelsTest, StrongBaselineAndEvaluatorAreLargerCausalModelsOnTheSameTokenizer) {
  Drafter drafter = Drafter::load(kModels + "/drafter");
  const Refiner refiner = Refiner::load(kModels + "/refiner");
  const ScoreResult small = score_text(*drafter.model(), drafter.tokenizer(), kParagraph);
  for (const std::string name : {"ar_base", "evaluator"}) {
    SCOPED_TRACE(name);
    Drafter larger = Drafter::load(kModels + "/" + name);
    EXPECT_TRUE(vocabulary_extends(refiner.tokenizer(), larger.tokenizer()));
    EXPECT_EQ(larger.model()->config().attention, AttentionMode::kCausal);
    EXPECT_GT(parameter_count(*larger.model()), parameter_count(*drafter.model()));
    const ScoreResult big = score_text(*larger.model(), larger.tokenizer(), kParagraph);
    ASSERT_EQ(big.ids, small.ids);
    std::printf("%s %.3f nats/token, drafter %.3f\n", name.c_str(), big.nll / double(big.ids.size()),
                small.nll / double(small.ids.size()));
  }
}

TEST(DefaultModelsTest, RefinerRestoresCorruptedTokensFarBeyondChance) {
  Refiner refiner = Refiner::load(kModels + "/refiner");
  std::vector<int64_t> ids;
  for (int32_t id : refiner.tokenizer().encode(kParagraph)) ids.push_back(id);
  const std::vector<int64_t> context = {refiner.tokenizer().bos_id()};
  RefineParams p;
  p.steps = 1 << 20;  // one token per step
  int64_t restored = 0, corrupted = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    const RestorationResult r = run_restoration(refiner, context, ids, 0.15, p, seed);
    restored += r.n_restored;
    corrupted += r.n_corrupted;
  }
  // Chance: always guessing the text's most frequent token; margin: 4 binomial standard errors.
  std::map<int64_t, int64_t> counts;
  int64_t best = 0;
  for (int64_t id : ids) best = std::max(best, ++counts[id]);
  const double chance = double(best) / double(ids.size()), accuracy = double(restored) / double(corrupted);
  const double margin = 4 * std::sqrt(chance * (1 - chance) / double(corrupted));
  std::printf("restored %lld of %lld (%.3f); chance %.3f + margin %.3f\n", (long long)restored, (long long)corrupted,
              accuracy, chance, margin);
  EXPECT_GT(accuracy, chance + margin);
}

}  // namespace
}  // namespace sculpt
