// The ablation runner on tiny models trained in the set-up: baselines and grid, metrics as
// recomputed from the saved outputs, reports, resume after an interruption, variants that
// train first, and bad ablation files.
#include "hybrid/ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "hybrid/ablation_report.h"
#include "hybrid/text_metrics.h"
#include "train/config_trainer.h"
#include "train/token_shards.h"
#include "support/test_util.h"
#include "support/tiny_pipeline.h"

namespace sculpt {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using sculpt::testing::TempDir;
using sculpt::testing::error_message;
using sculpt::testing::write_file;
using json = nlohmann::json;

class AblationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sculpt_ablation");
    sculpt::testing::make_tiny_pipeline_models(*dir_);
    sculpt::testing::write_tiny_pipeline_config(*dir_, /*refine_steps=*/4, /*budget_tokens=*/16);
    // A refiner training config, for variants that retrain the refiner.
    write_file(dir_->file("refiner_train.yaml"),
               "model: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4,\n"
               "        num_key_value_heads: 2, max_position_embeddings: 64, attention: bidirectional}\n"
               "runtime: {seed: 3, n_threads: 2}\n"
               "data: {corpus: " + dir_->file("corpus") + ", validation_fraction: 0.05, seq_len: 32}\n"
               "train: {out_dir: " + dir_->file("unused") + ", tokenizer: " + dir_->file("tok.model") +
               ", objective: masked_diffusion, batch_size: 8, lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 5,\n"
               "        max_steps: 40, eval_every: 0, save_every: 0, log_every: 1000}\n");
  }
  static void TearDownTestSuite() { delete dir_; }

  // An ablation file in a fresh output folder; `body` adds grid/variants.
  static std::string ablation_file(const std::string& name, const std::string& out, const std::string& body,
                                   const std::string& eval_extra = "") {
    const std::string path = dir_->file(name + ".yaml");
    write_file(path, "base: " + dir_->file("pipeline.yaml") + "\nout_dir: " + out + "\nevaluator: " +
                         dir_->file("drafter") + "\ntrain: {refiner: " + dir_->file("refiner_train.yaml") +
                         "}\neval:\n  corpus: " + dir_->file("corpus") +
                         "\n  validation_fraction: 0.05\n  n_prompts: 3\n  prompt_tokens: 10\n  reference_tokens: 12\n"
                         "  max_tokens: 12\n  warmup: false\n" + eval_extra + body);
    return path;
  }

  static AblationResult run(const std::string& path, AblationOptions options = {}) {
    std::ostringstream log;
    options.log = &log;
    options.trainer = &trainer_;
    return run_ablation(load_ablation(path, &trainer_), options);
  }

  static std::vector<std::string> names(const AblationResult& r) {
    std::vector<std::string> out;
    for (const VariantResult& v : r.variants) out.push_back(v.variant.name);
    return out;
  }

  static TempDir* dir_;
  static ConfigTrainer trainer_;  // for the variants that retrain a model
};
TempDir* AblationTest::dir_ = nullptr;
ConfigTrainer AblationTest::trainer_;

TEST_F(AblationTest, EvalSetComesFromHeldOutDocumentsRoundRobin) {
  const Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
  EvalSetParams p;
  p.corpus = dir_->file("corpus");
  p.validation_fraction = 0.05;
  p.n_prompts = 1000;
  p.prompt_tokens = 10;
  p.reference_tokens = 5;
  const std::vector<EvalPrompt> set = make_eval_set(p, tok);
  DataParams data;
  data.corpus = p.corpus;
  data.validation_fraction = 0.05;
  const std::vector<Document> held_out = read_split(data, CorpusSplit::kValidation);
  ASSERT_FALSE(held_out.empty());
  ASSERT_GT(set.size(), held_out.size());  // several windows per document
  for (size_t i = 0; i < held_out.size(); ++i) EXPECT_EQ(set[i].id, held_out[i].id + "@0");  // first round
  for (const EvalPrompt& e : set) {
    const std::string doc = e.id.substr(0, e.id.find('@'));
    EXPECT_TRUE(in_validation_split(doc, 0.05)) << doc;
    const size_t at = std::stoul(e.id.substr(e.id.find('@') + 1));
    for (const Document& d : held_out)
      if (d.id == doc) {  // prompt + reference are the document's tokens [at, at + 15)
        const std::vector<TokenId> ids = tok.encode(d.text);
        ASSERT_LE(at + 15, ids.size());
        EXPECT_EQ(e.prompt, tok.decode(std::vector<TokenId>(ids.begin() + int64_t(at), ids.begin() + int64_t(at) + 10)));
        EXPECT_EQ(e.reference, tok.decode(std::vector<TokenId>(ids.begin() + int64_t(at) + 10, ids.begin() + int64_t(at) + 15)));
      }
  }
  p.n_prompts = 2;
  EXPECT_EQ(make_eval_set(p, tok).size(), 2u);
}

TEST_F(AblationTest, RunsTheBaselinesAndTheGridAndScoresWhatWasWritten) {
  const std::string out = dir_->file("out_grid");
  const AblationResult r = run(ablation_file("grid", out, "grid:\n  refine.steps: [2, 6]\n"));
  EXPECT_EQ(names(r), (std::vector<std::string>{"ar_only", "diffusion_only", "hybrid", "refine.steps=2", "refine.steps=6"}));
  Drafter evaluator = Drafter::load(dir_->file("drafter"));
  for (const VariantResult& v : r.variants) {
    const VariantMetrics& m = v.metrics;
    EXPECT_FALSE(v.reused);
    EXPECT_EQ(m.n_prompts, 3);
    EXPECT_EQ(m.n_tokens, 36);
    EXPECT_GT(m.seconds, 0);
    EXPECT_GT(m.forward_passes, 0);
    // Recompute the quality metrics from the saved outputs, independently of the runner.
    std::istringstream lines(read_file(v.dir + "/outputs.jsonl"));
    std::string line;
    double nll = 0, rep4 = 0, f1 = 0;
    int64_t n_tokens = 0, n = 0;
    const std::vector<EvalPrompt> set = [&] {
      EvalSetParams p;
      p.corpus = dir_->file("corpus");
      p.n_prompts = 3;
      p.prompt_tokens = 10;
      p.reference_tokens = 12;
      return make_eval_set(p, evaluator.tokenizer());
    }();
    while (std::getline(lines, line)) {
      const json j = json::parse(line);
      ASSERT_EQ(j["prompt"].get<std::string>(), set[size_t(n)].prompt);
      const std::string text = j["text"].get<std::string>();
      const ScoreResult s = score_continuation(*evaluator.model(), evaluator.tokenizer(), set[size_t(n)].prompt, text);
      nll += s.nll;
      n_tokens += int64_t(s.ids.size());
      rep4 += repeated_ngram_rate(text_words(text), 4) / 3;
      f1 += token_f1(text_words(text), text_words(set[size_t(n)].reference)) / 3;
      ++n;
    }
    ASSERT_EQ(n, 3);
    EXPECT_NEAR(m.nll_per_token, nll / double(n_tokens), 1e-4) << v.variant.name;
    EXPECT_NEAR(m.repeated_4gram, rep4, 1e-9);
    EXPECT_NEAR(m.token_f1, f1, 1e-9);
  }
  EXPECT_EQ(r.variants[0].metrics.edits, 0);                 // AR only refines nothing
  EXPECT_EQ(r.variants[0].metrics.forward_passes, 36);       // one pass per drafted token
  EXPECT_LE(r.variants[1].metrics.forward_passes, 3 * 4);    // diffusion only: refine.steps per prompt
  // The reports: one row (and one plotted point) per variant.
  const std::string csv = read_file(r.csv_path);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  EXPECT_THAT(csv, HasSubstr("refine.steps=6,false,refine.steps=6,3,36,"));
  const std::string md = read_file(r.markdown_path);
  EXPECT_THAT(md, AllOf(HasSubstr("| ar_only (baseline) | pipeline.mode=ar_only |"), HasSubstr("| refine.steps=2 |"),
                        HasSubstr("](plot.svg)")));
  const std::string html = read_file(r.html_path);
  size_t circles = 0;
  for (size_t at = html.find("<circle"); at != std::string::npos; at = html.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 5u);
  EXPECT_THAT(html, HasSubstr("<svg"));
  const std::string svg = read_file(r.plot_path);  // the plot on its own, as the markdown shows it
  EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0u);
  EXPECT_NE(html.find(svg), std::string::npos);
}

TEST_F(AblationTest, AnInterruptedAblationKeepsItsFinishedVariants) {
  const std::string out = dir_->file("out_resume");
  const std::string path = ablation_file("resume", out, "grid:\n  refine.steps: [2, 3]\n");
  AblationOptions interrupt;
  int done = 0;
  interrupt.on_variant_done = [&](const VariantResult&) {
    if (++done == 2) throw Error("interrupted");
  };
  EXPECT_THROW(run(path, interrupt), Error);
  const std::string kept = read_file(out + "/variants/ar_only/result.json");
  const auto kept_time = std::filesystem::last_write_time(out + "/variants/ar_only/result.json");
  EXPECT_FALSE(std::filesystem::exists(out + "/variants/hybrid/result.json"));
  EXPECT_THAT(read_file(out + "/results.csv"), HasSubstr("diffusion_only"));  // reports of what finished

  const AblationResult second = run(path);
  ASSERT_EQ(second.variants.size(), 5u);
  EXPECT_TRUE(second.variants[0].reused);
  EXPECT_TRUE(second.variants[1].reused);
  for (size_t i = 2; i < 5; ++i) EXPECT_FALSE(second.variants[i].reused) << second.variants[i].variant.name;
  EXPECT_EQ(read_file(out + "/variants/ar_only/result.json"), kept);
  EXPECT_EQ(std::filesystem::last_write_time(out + "/variants/ar_only/result.json"), kept_time);

  // Nothing changed: everything is kept.
  const AblationResult third = run(path);
  for (const VariantResult& v : third.variants) EXPECT_TRUE(v.reused) << v.variant.name;
  // A new variant runs alone; then one whose settings changed under the same name runs again.
  write_file(path, read_file(path) + "variants:\n  - {name: hybrid_tau, set: {refine.rule: threshold}}\n");
  const AblationResult fourth = run(path);
  ASSERT_EQ(fourth.variants.size(), 6u);
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(fourth.variants[i].reused);
  EXPECT_FALSE(fourth.variants[5].reused);
  write_file(path, read_file(path).replace(read_file(path).find("refine.rule: threshold"), 22, "refine.rule: threshold, refine.threshold: 0.5"));
  const AblationResult fifth = run(path);
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(fifth.variants[i].reused);
  EXPECT_FALSE(fifth.variants[5].reused);  // same name, new settings
  AblationOptions rerun;
  rerun.rerun = true;
  for (const VariantResult& v : run(path, rerun).variants) EXPECT_FALSE(v.reused);
}

TEST_F(AblationTest, AVariantThatRetrainsAModelTrainsBeforeItEvaluates) {
  const std::string out = dir_->file("out_train");
  const std::string path = ablation_file("train", out, "variants:\n  - name: small_refiner\n    set: {refiner_train.train.max_steps: 30}\n");
  const AblationResult r = run(path);
  const VariantResult& v = r.variants.back();
  EXPECT_EQ(v.variant.refiner_train, std::vector<std::string>{"train.max_steps=30"});
  EXPECT_TRUE(std::filesystem::exists(v.dir + "/refiner/model.safetensors"));
  EXPECT_GT(v.metrics.train_seconds, 0);
  EXPECT_EQ(v.metrics.n_tokens, 36);
  const json config = json::parse(read_file(v.dir + "/refiner/config.json"));
  EXPECT_EQ(config["hidden_size"].get<int>(), 32);  // the variant's own model, not the base refiner (48)
  const AblationResult again = run(path);
  EXPECT_TRUE(again.variants.back().reused);
}

TEST_F(AblationTest, BadAblationFilesGetOneClearError) {
  const std::string out = dir_->file("out_bad");
  auto message = [&](const std::string& body, const std::string& eval_extra = "") {
    return error_message([&] { load_ablation(ablation_file("bad", out, body, eval_extra), &trainer_); });
  };
  const std::string file = dir_->file("bad.yaml");
  EXPECT_THAT(message("grdi:\n  refine.steps: [2]\n"), AllOf(HasSubstr(file + ":"), HasSubstr("grdi"), HasSubstr("unknown key")));
  EXPECT_THAT(message("grid:\n  refine.stpes: [2]\n"),
              AllOf(HasSubstr(file + ":14"), HasSubstr("refine.stpes"), HasSubstr("did you mean 'refine.steps'")));
  EXPECT_THAT(message("grid:\n  refine.steps: [two]\n"), AllOf(HasSubstr(file + ":14"), HasSubstr("refine.steps")));
  EXPECT_THAT(message("variants:\n  - {name: hybrid}\n"), HasSubstr("'hybrid' is defined twice"));
  EXPECT_THAT(message("variants:\n  - {set: {refine.steps: 2}}\n"), HasSubstr("every variant needs a name"));
  EXPECT_THAT(message("variants:\n  - {name: d, set: {drafter_train.train.max_steps: 5}}\n"),
              AllOf(HasSubstr("variant 'd'"), HasSubstr("train.drafter")));
  EXPECT_THAT(message("variants:\n  - {name: r, set: {refiner_train.train.max_stepz: 5}}\n"),
              AllOf(HasSubstr(file + ":14"), HasSubstr("max_stepz")));
  EXPECT_THAT(message("", "  prompts: x.jsonl\n"), HasSubstr("exactly one of eval.corpus"));
  // A value out of range (the file's own n_prompts replaced: a second n_prompts key would be a
  // duplicate, which is an error of its own).
  const std::string zero_prompts = dir_->file("zero_prompts.yaml");
  std::string text = read_file(ablation_file("bad", out, ""));
  text.replace(text.find("n_prompts: 3"), 12, "n_prompts: 0");
  write_file(zero_prompts, text);
  EXPECT_THAT(error_message([&] { load_ablation(zero_prompts, &trainer_); }),
              AllOf(HasSubstr("zero_prompts.yaml:8"), HasSubstr("eval.n_prompts"), HasSubstr("must be in [1, 1048576], got 0")));
  EXPECT_THAT(message("", "  n_prompts: 5\n"), AllOf(HasSubstr("eval.n_prompts"), HasSubstr("duplicate key")));
  EXPECT_THAT(message("", "  split: test\n"), AllOf(HasSubstr("eval.split"), HasSubstr("test")));
  EXPECT_THAT(message("grid: [1, 2\n"), AllOf(HasSubstr(file), HasSubstr("invalid YAML")));
  // A variant that retrains a model needs a program that can train.
  EXPECT_THAT(error_message([&] { load_ablation(ablation_file("bad", out, "variants:\n  - {name: r, set: {refiner_train.train.max_steps: 5}}\n")); }),
              AllOf(HasSubstr("variant 'r'"), HasSubstr("cannot train")));
  // Missing files are named with the key that names them.
  write_file(dir_->file("bad2.yaml"), "base: " + dir_->file("nope.yaml") + "\nevaluator: x\neval: {corpus: c}\n");
  EXPECT_THAT(error_message([&] { load_ablation(dir_->file("bad2.yaml")); }), AllOf(HasSubstr("bad2.yaml:1"), HasSubstr("base"), HasSubstr("not found")));
  write_file(dir_->file("bad3.yaml"), "base: " + dir_->file("pipeline.yaml") + "\nevaluator: " + dir_->file("nope") + "\neval: {corpus: c}\n");
  EXPECT_THAT(error_message([&] { load_ablation(dir_->file("bad3.yaml")); }), AllOf(HasSubstr("bad3.yaml:2"), HasSubstr("evaluator")));
  // Without an evaluator key the base config's pipeline.evaluator scores; a base without one is refused.
  write_file(dir_->file("no_evaluator.yaml"), "base: " + dir_->file("pipeline.yaml") + "\neval: {corpus: c}\n");
  EXPECT_THAT(error_message([&] { load_ablation(dir_->file("no_evaluator.yaml")); }),
              AllOf(HasSubstr("no_evaluator.yaml"), HasSubstr("names no pipeline.evaluator")));
  std::string base_text = read_file(dir_->file("pipeline.yaml"));
  base_text.replace(base_text.find("pipeline:\n"), 10, "pipeline:\n  evaluator: " + dir_->file("drafter") + "\n");
  write_file(dir_->file("pipeline_with_evaluator.yaml"), base_text);
  write_file(dir_->file("evaluator_from_base.yaml"),
             "base: " + dir_->file("pipeline_with_evaluator.yaml") + "\neval: {corpus: " + dir_->file("corpus") + "}\n");
  EXPECT_EQ(load_ablation(dir_->file("evaluator_from_base.yaml")).evaluator, dir_->file("drafter"));
  // A prompt file with a broken line names the line.
  write_file(dir_->file("prompts.jsonl"), "{\"prompt\": \"The sailor\"}\n{\"prompt\": 3}\n");
  EvalSetParams p;
  p.prompts = dir_->file("prompts.jsonl");
  EXPECT_THAT(error_message([&] { make_eval_set(p, Tokenizer::load(dir_->file("tok.model"))); }),
              HasSubstr("prompts.jsonl:2"));
}

TEST_F(AblationTest, PromptsCanComeFromAFile) {
  write_file(dir_->file("prompts_ok.jsonl"), "{\"prompt\": \"The sailor reads\", \"reference\": \"a map\"}\n\n{\"id\": 7, \"prompt\": \"A farmer\"}\n");
  EvalSetParams p;
  p.prompts = dir_->file("prompts_ok.jsonl");
  const std::vector<EvalPrompt> set = make_eval_set(p, Tokenizer::load(dir_->file("tok.model")));
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].id, "line:1");
  EXPECT_EQ(set[0].reference, "a map");
  EXPECT_EQ(set[1].id, "7");
  EXPECT_EQ(set[1].prompt, "A farmer");
}

}  // namespace
}  // namespace sculpt
