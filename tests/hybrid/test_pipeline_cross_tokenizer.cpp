// A drafter and a refiner that do not share a tokenizer (hybrid/token_alignment.h, the pipeline's
// cross-vocabulary path): trained models on both sides, the shipped Brown models (4,096
// sentencepiece pieces) against the tiny template-corpus models (300 pieces), in both directions.
// What must hold: the draft reaches the refiner as its text (the spans event's token texts spell
// it), every token the drafter found weak lies inside what the refiner re-masks, the text the
// refiner was not asked to rewrite comes back byte for byte, and editing a user's text keeps
// everything outside the range it rewrites.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tokenizer.h"
#include "hybrid/edit_request.h"
#include "hybrid/pipeline.h"
#include "hybrid/token_alignment.h"
#include "support/test_util.h"
#include "support/tiny_models.h"
#include "support/tiny_pipeline.h"

namespace sculpt {
namespace {

using testing::TempDir;

const std::string kShipped = std::string(SCULPT_SOURCE_DIR) + "/models";

// Every event of one call, kept.
struct Recorder : PipelineObserver {
  std::vector<DraftTokenEvent> draft;
  std::vector<SpansEvent> spans;
  std::vector<TextEdit> edits;
  std::vector<SectionEvent> sections;
  std::vector<StageTiming> stages;
  void on_draft_token(const DraftTokenEvent& e) override { draft.push_back(e); }
  void on_spans(const SpansEvent& e) override { spans.push_back(e); }
  void on_edit(const TextEdit& e) override { edits.push_back(e); }
  void on_section(const SectionEvent& e) override { sections.push_back(e); }
  void on_stage(const StageTiming& t, int64_t) override { stages.push_back(t); }
};

// [begin, end) byte ranges of consecutive texts; an empty one (part of a character) takes the
// range of the next that is not.
std::vector<std::pair<size_t, size_t>> ranges(const std::vector<std::string>& texts) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t at = 0;
  for (const std::string& t : texts) out.push_back({at, at += t.size()});
  for (size_t i = out.size(); i-- > 1;)
    if (out[i - 1].first == out[i - 1].second) out[i - 1].second = out[i].second;
  return out;
}

class CrossTokenizerPipelineTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("cross_tok");
    testing::make_tiny_pipeline_models(*dir_);
  }
  static void TearDownTestSuite() { delete dir_; }

  // GetParam(): the shipped drafter with the tiny refiner (true) or the tiny drafter with the
  // shipped refiner (false). Every drafted token below -1.5 nats is weak and re-masked; `extra`
  // adds keys to the spans section.
  static std::string config(const std::string& extra = "") {
    const std::string drafter = GetParam() ? kShipped + "/drafter" : dir_->file("drafter");
    const std::string refiner = GetParam() ? dir_->file("refiner") : kShipped + "/refiner";
    const std::string path = dir_->file(std::string("cross_") + (GetParam() ? "a" : "b") + ".yaml");
    testing::write_file(path, "runtime: {seed: 1, n_threads: 2}\n"
                              "pipeline: {drafter: " + drafter + ", refiner: " + refiner + ", max_tokens: 24}\n"
                              "draft: {stop_at_eos: false, sampler: {temperature: 0.8, seed: 3}}\n"
                              "spans: {strategy: logprob, logprob_threshold: -1.5, max_fraction: 1.0" + extra + "}\n"
                              "refine: {steps: 4}\n");
    return path;
  }
  static TempDir* dir_;
};
TempDir* CrossTokenizerPipelineTest::dir_ = nullptr;

TEST_P(CrossTokenizerPipelineTest, WeakDraftTokensAreRewrittenAndTheRestComesBackByteForByte) {
  Pipeline pipeline = Pipeline::from_file(config());
  Recorder events;
  const PipelineResult r = pipeline.generate("The jury said that the election", &events);
  ASSERT_EQ(events.sections.size(), 1u);
  ASSERT_EQ(events.spans.size(), 1u);
  const SectionEvent& section = events.sections[0];
  const SpansEvent& spans = events.spans[0];

  // The draft went over as text: the refiner's tokens spell exactly what the drafter wrote.
  std::vector<std::string> drafted;
  for (const DraftTokenEvent& e : events.draft) drafted.push_back(e.text);
  std::string draft_text;
  for (const std::string& t : drafted) draft_text += t;
  ASSERT_EQ(draft_text, section.draft_text);
  ASSERT_FALSE(spans.token_texts.empty()) << "the two vocabularies differ: the draft must be re-read";
  std::string reread;
  for (const std::string& t : spans.token_texts) reread += t;
  EXPECT_EQ(reread, section.draft_text);
  EXPECT_EQ(spans.n_draft, int64_t(spans.token_texts.size()));
  // The refiner's ids of the draft: one per position, but for the rest of a word the document
  // began, which a dummy-prefix tokenizer reads as context (one position, no id).
  EXPECT_LE(spans.token_texts.size() - r.draft_ids.size(), 1u);
  EXPECT_EQ(r.ids.size(), r.draft_ids.size());

  // Every weak drafter token lies inside the refiner tokens re-masked.
  const auto refiner_bytes = ranges(spans.token_texts);
  std::vector<uint8_t> masked(section.draft_text.size(), 0);
  for (const SpanChoice& c : spans.spans)
    for (int64_t j = c.span.begin; j < c.span.end; ++j)
      for (size_t b = refiner_bytes[size_t(j)].first; b < refiner_bytes[size_t(j)].second; ++b) masked[b] = 1;
  const auto drafter_bytes = ranges(drafted);
  int n_weak = 0;
  for (size_t i = 0; i < events.draft.size(); ++i) {
    if (events.draft[i].logprob >= -1.5) continue;
    ++n_weak;
    for (size_t b = drafter_bytes[i].first; b < drafter_bytes[i].second; ++b)
      EXPECT_TRUE(masked[b]) << "weak drafter token " << i << " ('" << drafted[i] << "') byte " << b << " not re-masked";
  }
  EXPECT_GT(n_weak, 0) << "a sampled draft at T=0.8 has weak tokens";
  EXPECT_LT(std::count(masked.begin(), masked.end(), 1), int64_t(masked.size())) << "some text must stay";

  // What was not re-masked comes back byte for byte, in order; the first run where it was.
  std::vector<uint8_t> token_masked(spans.token_texts.size(), 0);
  for (const SpanChoice& c : spans.spans) std::fill(token_masked.begin() + c.span.begin, token_masked.begin() + c.span.end, 1);
  size_t at = 0;
  for (size_t j = 0; j < token_masked.size();) {
    std::string kept;
    const bool run_masked = token_masked[j];
    const size_t first = j;
    for (; j < token_masked.size() && token_masked[j] == run_masked; ++j) kept += spans.token_texts[j];
    if (run_masked || kept.empty()) continue;
    const size_t found = section.text.find(kept, at);
    ASSERT_NE(found, std::string::npos) << "kept text '" << kept << "' missing from '" << section.text << "'";
    if (first == 0) {
      EXPECT_EQ(found, 0u);
    }
    at = found + kept.size();
  }
  EXPECT_EQ(r.text, section.text);
  // Edits are the refiner's tokens, numbered as the spans event numbers them.
  for (const TextEdit& e : events.edits) EXPECT_LT(e.token, int64_t(spans.token_texts.size()));
  std::printf("draft: %s\nrefined: %s\n%d weak drafter tokens; %zu refiner tokens of %zu re-masked\n",
              section.draft_text.c_str(), section.text.c_str(), n_weak,
              size_t(std::count(token_masked.begin(), token_masked.end(), 1)), token_masked.size());
}

// Editing a user's text: the refiner's tokens are the document; the drafter's scores of the text
// choose what the fix rewrites, carried over to them.
TEST_P(CrossTokenizerPipelineTest, EditingKeepsTheTextOutsideTheRewrittenRange) {
  const std::string text = "The jury said that the election was conducted fairly.";
  Pipeline pipeline = Pipeline::from_file(config());
  const PipelineResult r = pipeline.edit(EditRequest{text, {{9, 13}}});  // "said"
  ASSERT_GE(r.text.size(), 9u + 41u);
  EXPECT_EQ(r.text.substr(0, 9), text.substr(0, 9));
  EXPECT_EQ(r.text.substr(r.text.size() - 40), text.substr(text.size() - 40));

  Pipeline fixer = Pipeline::from_file(config(", fix_strategy: logprob"));
  Recorder events;
  const PipelineResult f = fixer.edit(EditRequest{text}, &events);
  bool scored = false;
  for (const StageTiming& t : events.stages) scored = scored || (t.name == "select_spans" && t.n_forward == 1);
  EXPECT_TRUE(scored) << "the drafter scores the text for the fix";
  EXPECT_FALSE(f.text.empty());
}

INSTANTIATE_TEST_SUITE_P(BothDirections, CrossTokenizerPipelineTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ShippedDrafterTinyRefiner" : "TinyDrafterShippedRefiner"; });

// The pipeline keeps the exact token path when the two share a vocabulary: no re-reading.
TEST(SharedTokenizerPipelineTest, DraftTokensGoToTheRefinerAsTheyAre) {
  TempDir dir("shared_tok");
  testing::write_file(dir.file("p.yaml"), "runtime: {seed: 1}\npipeline: {drafter: " + kShipped + "/drafter, refiner: " +
                                              kShipped + "/refiner, max_tokens: 16}\n"
                                              "draft: {sampler: {temperature: 0.8}}\n"
                                              "spans: {logprob_threshold: -1.5, max_fraction: 1.0}\n");
  Pipeline pipeline = Pipeline::from_file(dir.file("p.yaml"));
  Recorder events;
  const PipelineResult r = pipeline.generate("The jury said that", &events);
  ASSERT_EQ(events.spans.size(), 1u);
  EXPECT_TRUE(events.spans[0].token_texts.empty());
  ASSERT_EQ(r.draft_ids.size(), events.draft.size());
  for (size_t i = 0; i < events.draft.size(); ++i) EXPECT_EQ(r.draft_ids[i], events.draft[i].id);
}

}  // namespace
}  // namespace sculpt
