// The pipeline end to end on tiny models trained in the set-up: hybrid, AR-only and
// diffusion-only modes, the event stream, long documents past the context, editing mode,
// plug-ins, bad configs.
#include "hybrid/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "ar_draft/drafter.h"
#include "core/error.h"
#include "retrieval/retriever_registry.h"
#include "support/test_util.h"
#include "support/tiny_pipeline.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sculpt_pipeline");
    sculpt::testing::make_tiny_pipeline_models(*dir_);
    sculpt::testing::write_tiny_pipeline_config(*dir_, /*refine_steps=*/6, /*budget_tokens=*/24, "  max_tokens: 30\n");
  }
  static void TearDownTestSuite() { delete dir_; }

  static Pipeline pipeline(const std::vector<std::string>& overrides = {}) {
    return Pipeline::from_file(dir_->file("pipeline.yaml"), overrides);
  }
  static const StageTiming* find_stage(const PipelineResult& r, const std::string& name) {
    for (const StageTiming& s : r.trace.stages) if (s.name == name) return &s;
    return nullptr;
  }

  static TempDir* dir_;
};
TempDir* PipelineTest::dir_ = nullptr;

TEST_F(PipelineTest, HybridDraftsRetrievesAndRefines) {
  Pipeline p = pipeline();
  const PipelineResult r = p.generate("The sailor reads");
  ASSERT_EQ(r.ids.size(), 30u);
  ASSERT_EQ(r.draft_ids.size(), 30u);
  for (const char* name : {"retrieve_prompt", "draft", "select_spans", "retrieve_draft", "refine"})
    EXPECT_NE(find_stage(r, name), nullptr) << name;
  EXPECT_FALSE(r.trace.passages.empty());
  EXPECT_GT(find_stage(r, "refine")->n_tokens, 0);  // the drafter was unsure somewhere
  // Every recorded edit is a real difference between draft and output, and vice versa.
  int64_t differences = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) differences += r.ids[i] != r.draft_ids[i];
  EXPECT_EQ(int64_t(r.trace.edits.size()), differences);
  EXPECT_FALSE(r.text.empty());
}

// Every event, as an observer sees it.
struct Recorder : PipelineObserver {
  std::vector<PassagesEvent> passages;
  std::vector<DraftTokenEvent> tokens;
  std::vector<SpansEvent> spans;
  std::vector<RefineStepEvent> steps;
  std::vector<TextEdit> edits;
  std::vector<std::pair<StageTiming, int64_t>> stages;
  std::vector<SectionEvent> sections;
  std::vector<std::string> order;  // event kinds as they came
  void on_passages(const PassagesEvent& e) override { passages.push_back(e), order.push_back("passages"); }
  void on_draft_token(const DraftTokenEvent& e) override { tokens.push_back(e), order.push_back("draft_token"); }
  void on_spans(const SpansEvent& e) override { spans.push_back(e), order.push_back("spans"); }
  void on_refine_step(const RefineStepEvent& e) override { steps.push_back(e), order.push_back("refine_step"); }
  void on_edit(const TextEdit& e) override { edits.push_back(e), order.push_back("edit"); }
  void on_stage(const StageTiming& t, int64_t s) override { stages.push_back({t, s}), order.push_back("stage"); }
  void on_section(const SectionEvent& e) override { sections.push_back(e), order.push_back("section"); }
};

TEST_F(PipelineTest, TheEventStreamTellsWhatHappenedAndTheTraceIsMadeFromIt) {
  Pipeline p = pipeline();
  Recorder seen;
  const PipelineResult r = p.generate("The sailor reads", &seen);
  // Draft tokens: every one, in order, with the drafter's scores.
  ASSERT_EQ(seen.tokens.size(), r.draft_ids.size());
  std::string drafted;
  for (size_t i = 0; i < seen.tokens.size(); ++i) {
    EXPECT_EQ(seen.tokens[i].index, int64_t(i));
    EXPECT_EQ(seen.tokens[i].id, r.draft_ids[i]);
    EXPECT_LE(seen.tokens[i].logprob, 0.0f);
    EXPECT_GE(seen.tokens[i].entropy, 0.0f);
    drafted += seen.tokens[i].text;
  }
  EXPECT_EQ(drafted, r.draft_text);
  // Spans: what the refiner re-masked, each with its weakest token below the threshold (or a repeat).
  ASSERT_EQ(seen.spans.size(), 1u);
  EXPECT_EQ(seen.spans[0].strategy, "logprob");
  int64_t masked = 0;
  for (const SpanChoice& c : seen.spans[0].spans) {
    masked += c.span.end - c.span.begin;
    EXPECT_TRUE(c.repeat || c.weakness > 0.5f) << c.weakness;  // -log p > 0.5: log p below -0.5
  }
  EXPECT_EQ(masked, find_stage(r, "refine")->n_tokens);
  // Steps: every masked position is written exactly once (no editing here), and the last step
  // leaves nothing masked; the step's tokens are what the output holds unless a later step
  // wrote the position again.
  std::vector<int> written(r.ids.size(), 0);
  for (const RefineStepEvent& e : seen.steps) {
    ASSERT_EQ(e.step.committed.size(), e.step.tokens.size());
    ASSERT_EQ(e.texts.size(), e.step.tokens.size());
    for (size_t j = 0; j < e.step.committed.size(); ++j) {
      ++written[size_t(e.step.committed[j])];
      EXPECT_EQ(r.ids[size_t(e.step.committed[j])], e.step.tokens[j]);
      EXPECT_GT(e.step.confidence[j], 0.0f);
    }
  }
  EXPECT_EQ(std::count(written.begin(), written.end(), 1), masked);
  EXPECT_EQ(seen.steps.back().step.n_masked, 0);
  // Edits, stages and sections: the trace is exactly what the events said.
  ASSERT_EQ(seen.edits.size(), r.trace.edits.size());
  for (size_t i = 0; i < seen.edits.size(); ++i) {
    EXPECT_EQ(seen.edits[i].token, r.trace.edits[i].token);
    EXPECT_EQ(r.draft_ids[size_t(seen.edits[i].token)], seen.edits[i].old_id);
    EXPECT_EQ(r.ids[size_t(seen.edits[i].token)], seen.edits[i].new_id);
  }
  for (const StageTiming& total : r.trace.stages) {
    StageTiming sum;
    for (const auto& [t, section] : seen.stages)
      if (t.name == total.name) sum.seconds += t.seconds, sum.n_forward += t.n_forward, sum.n_tokens += t.n_tokens;
    EXPECT_DOUBLE_EQ(sum.seconds, total.seconds) << total.name;
    EXPECT_EQ(sum.n_forward, total.n_forward) << total.name;
    EXPECT_EQ(sum.n_tokens, total.n_tokens) << total.name;
  }
  ASSERT_EQ(seen.sections.size(), 1u);
  EXPECT_EQ(seen.sections[0].text, r.text);
  EXPECT_EQ(seen.sections[0].draft_text, r.draft_text);
  EXPECT_EQ(seen.passages.size(), 2u);  // for the prompt (drafter) and for prompt + draft (refiner)
  // In the order they happen: drafting, then spans, then steps, then edits, then the section.
  auto first = [&](const char* kind) { return std::find(seen.order.begin(), seen.order.end(), kind) - seen.order.begin(); };
  EXPECT_LT(first("draft_token"), first("spans"));
  EXPECT_LT(first("spans"), first("refine_step"));
  EXPECT_LT(first("refine_step"), first("edit"));
  EXPECT_EQ(seen.order.back(), "section");
}

TEST_F(PipelineTest, ArOnlyIsExactlyTheDrafter) {
  Pipeline p = pipeline({"pipeline.mode=ar_only", "pipeline.retrieve_for_prompt=false"});
  const PipelineResult r = p.generate("The sailor reads");
  EXPECT_EQ(r.ids, r.draft_ids);
  EXPECT_EQ(find_stage(r, "refine"), nullptr);
  // The same as the drafter alone with the same sampler.
  Drafter drafter = Drafter::load(dir_->file("drafter"));
  DraftParams dp = p.config().draft;
  dp.max_tokens = 30;
  const DraftResult d = drafter.draft({"The sailor reads"}, dp)[0];
  std::vector<int64_t> ids;
  for (const DraftToken& t : d.tokens) ids.push_back(t.id);
  EXPECT_EQ(r.ids, ids);
}

// The passages retrieved for the prompt are what draft.copy quotes: with full weight the draft
// goes on exactly as the indexed text does; without copying it does not.
TEST_F(PipelineTest, DraftCopyQuotesTheRetrievedPassage) {
  const std::string source = "The sailor reads the ancient chart by lamplight while the whole crew sleeps below deck.";
  auto with_index = [&](const std::vector<std::string>& overrides) {
    Pipeline p = pipeline(overrides);
    std::unique_ptr<Retriever> retriever = make_retriever(p.config().retrieval);
    retriever->add({{"log", source}});
    p.set_retriever(std::move(retriever));
    return p.generate("The sailor reads the ancient chart");
  };
  const std::vector<std::string> quoting = {"pipeline.mode=ar_only", "draft.copy.weight=1", "draft.copy.min_match=2",
                                            "retrieval.inject.budget_tokens=200", "pipeline.max_tokens=8"};
  const PipelineResult copied = with_index(quoting);
  const std::string continuation = " by lamplight while the whole crew sleeps below deck.";
  EXPECT_GE(copied.text.size(), 8u);
  EXPECT_EQ(continuation.compare(0, copied.text.size(), copied.text), 0) << copied.text;  // a prefix of it
  std::vector<std::string> plain = quoting;
  plain[1] = "draft.copy.weight=0";
  EXPECT_NE(with_index(plain).text, copied.text);
}

TEST_F(PipelineTest, DiffusionOnlyWritesFromAnAllMaskCanvas) {
  Pipeline p = pipeline({"pipeline.mode=diffusion_only"});
  const PipelineResult r = p.generate("The sailor reads");
  ASSERT_EQ(r.ids.size(), 30u);
  EXPECT_TRUE(r.draft_ids.empty());
  EXPECT_EQ(find_stage(r, "draft"), nullptr);
  EXPECT_EQ(find_stage(r, "refine")->n_tokens, 30);
  for (int64_t id : r.ids) EXPECT_NE(id, p.tokenizer().mask_id());
}

TEST_F(PipelineTest, LongDocumentsGoPastTheContextSectionBySection) {
  Pipeline p = pipeline({"pipeline.max_tokens=150", "pipeline.section_tokens=24"});  // contexts are 64
  struct Sections : PipelineObserver {
    std::vector<SectionEvent> all;
    void on_section(const SectionEvent& e) override { all.push_back(e); }
  } observer;
  const PipelineResult r = p.generate("The sailor reads", &observer);
  const std::vector<SectionEvent>& sections = observer.all;
  EXPECT_EQ(r.ids.size(), 150u);
  ASSERT_EQ(sections.size(), 7u);  // ceil(150 / 24)
  std::string joined;
  for (size_t i = 0; i < sections.size(); ++i) {
    EXPECT_EQ(sections[i].index, int64_t(i));
    joined += sections[i].text;
  }
  EXPECT_EQ(joined, r.text);  // streamed sections add up to the whole
  EXPECT_EQ(r.trace.n_sections, 7);
  // One forward pass per drafted token: each section prefills its window once, then decodes
  // against the cache (never a pass per token over the whole window).
  EXPECT_EQ(find_stage(r, "draft")->n_forward, find_stage(r, "draft")->n_tokens);
}


// Per-call settings (a server request's) give exactly what a pipeline configured with them gives,
// and leave the loaded pipeline's own settings alone.
TEST_F(PipelineTest, PerCallSettingsActLikeAPipelineConfiguredWithThem) {
  Pipeline p = pipeline();
  PipelineConfig settings = p.config();
  settings.pipeline.max_tokens = 12;
  settings.refine.steps = 3;
  settings.draft.sampler.temperature = 0.5f;
  settings.spans.max_fraction = 0.5;
  const PipelineResult per_call = p.generate("The sailor reads", settings);
  const PipelineResult configured =
      pipeline({"pipeline.max_tokens=12", "refine.steps=3", "draft.sampler.temperature=0.5", "spans.max_fraction=0.5"})
          .generate("The sailor reads");
  EXPECT_EQ(per_call.ids, configured.ids);
  EXPECT_EQ(per_call.draft_ids, configured.draft_ids);
  EXPECT_EQ(p.config().pipeline.max_tokens, 30);
  EXPECT_EQ(p.generate("The sailor reads").ids, pipeline().generate("The sailor reads").ids);

  settings.pipeline.mode = PipelineMode::kArOnly;
  EXPECT_EQ(p.generate("The sailor reads", settings).ids,
            pipeline({"pipeline.max_tokens=12", "draft.sampler.temperature=0.5", "pipeline.mode=ar_only"})
                .generate("The sailor reads")
                .ids);
  settings.refine.steps = 0;
  settings.pipeline.mode = PipelineMode::kHybrid;
  EXPECT_THAT([&] { p.generate("x", settings); }, ::testing::ThrowsMessage<Error>(HasSubstr("refine.steps")));
}

// Calls on one pipeline from several threads (a server's slots) give what they give alone.
TEST_F(PipelineTest, ConcurrentCallsGiveWhatTheyGiveAlone) {
  Pipeline p = pipeline();
  PipelineConfig other = p.config();
  other.draft.sampler.seed = 99;
  other.pipeline.max_tokens = 20;
  const PipelineResult a_alone = p.generate("The sailor reads"), b_alone = p.generate("A ship", other);
  const EditRequest edit{"The sailor reads the long letter twice.", {{4, 16}}};
  const PipelineResult e_alone = p.edit(edit);
  for (int round = 0; round < 3; ++round) {
    PipelineResult a, b, e;
    std::thread ta([&] { a = p.generate("The sailor reads"); });
    std::thread tb([&] { b = p.generate("A ship", other); });
    std::thread te([&] { e = p.edit(edit); });
    ta.join(), tb.join(), te.join();
    EXPECT_EQ(a.ids, a_alone.ids);
    EXPECT_EQ(b.ids, b_alone.ids);
    EXPECT_EQ(e.ids, e_alone.ids);
  }
}

// An observer that asks to stop after `after` events of drafting or refining.
class StopAfter : public PipelineObserver {
 public:
  explicit StopAfter(int after) : after_(after) {}
  bool stop_requested() override { return ++asked > after_; }
  void on_draft_token(const DraftTokenEvent&) override { ++tokens; }
  void on_refine_step(const RefineStepEvent&) override { ++steps; }
  int asked = 0, tokens = 0, steps = 0;

 private:
  int after_;
};

TEST_F(PipelineTest, AnObserverThatAsksToStopEndsTheCallWithinAForwardPass) {
  Pipeline p = pipeline();
  StopAfter drafting(3);
  EXPECT_THROW(p.generate("The sailor reads", &drafting), Cancelled);
  EXPECT_LE(drafting.tokens, 4);  // asked between forward passes: at most one more token
  EXPECT_EQ(drafting.steps, 0);
  // Stopped while refining: asked once per step as well.
  StopAfter never(1 << 30);
  p.generate("The sailor reads", &never);
  const int asks_in_drafting = never.tokens;
  StopAfter refining(asks_in_drafting + 2);
  EXPECT_THROW(p.generate("The sailor reads", &refining), Cancelled);
  EXPECT_GT(refining.tokens, 0);
  EXPECT_LT(refining.steps, never.steps);
  // The pipeline is whole afterwards: the next call gives what it always gives.
  EXPECT_EQ(p.generate("The sailor reads").ids, pipeline().generate("The sailor reads").ids);
  StopAfter editing(0);
  EXPECT_THROW(p.edit({"The sailor reads the long letter twice.", {{4, 16}}}, &editing), Cancelled);
}

// A denoiser that writes token 7 everywhere it may, and one that breaks the frozen context.
class ConstantDenoiser : public Denoiser {
 public:
  explicit ConstantDenoiser(bool break_frozen) : break_frozen_(break_frozen) {}
  RefineResult denoise(const Canvas& canvas, const RefineParams&, const RefineStepCallback&) override {
    RefineResult r;
    r.tokens = canvas.tokens;
    for (size_t i = 0; i < r.tokens.size(); ++i)
      if (canvas.roles[i] == CanvasRole::kMasked || (break_frozen_ && i == 0)) r.tokens[i] = 7;
    return r;
  }

 private:
  bool break_frozen_;
};
class EverythingSelector : public SpanSelector {
 public:
  EverythingSelector() : SpanSelector(all_of_it()) {}
  static SpanParams all_of_it() {
    SpanParams p;
    p.max_fraction = 1.0;
    return p;
  }
  Marks mark(const DraftView& d) override {
    return {std::vector<float>(d.tokens.size(), 1.0f), std::vector<uint8_t>(d.tokens.size(), 1)};
  }
};

TEST_F(PipelineTest, PluginsReplaceTheirStages) {
  Pipeline p = pipeline({"spans.max_fraction=1.0"});
  p.set_span_selector(std::make_unique<EverythingSelector>());
  p.set_denoiser(std::make_unique<ConstantDenoiser>(false));
  const PipelineResult r = p.generate("The sailor reads");
  for (int64_t id : r.ids) EXPECT_EQ(id, 7);
  p.set_denoiser(std::make_unique<ConstantDenoiser>(true));
  EXPECT_THAT([&] { p.generate("The sailor reads"); }, ::testing::ThrowsMessage<Error>(HasSubstr("frozen")));
}

TEST_F(PipelineTest, BadConfigsNameTheKeyAndTheFile) {
  const std::string file = dir_->file("pipeline.yaml");
  EXPECT_THAT([&] { pipeline({"pipeline.drafter=" + dir_->file("nope")}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr(file), HasSubstr("pipeline.drafter"), HasSubstr("does not exist"))));
  EXPECT_THAT([&] { pipeline({"pipeline.refiner=" + dir_->file("drafter")}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("pipeline.refiner"), HasSubstr("bidirectional"))));
  EXPECT_THAT([&] { pipeline({"retrieval.backend=elastic"}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr(file), HasSubstr("retrieval.backend"), HasSubstr("elastic"))));
  EXPECT_THAT([&] { pipeline({"pipeline.index=" + dir_->file("nope.idx")}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("pipeline.index"), HasSubstr("nope.idx"))));
  // What runs is one choice, pipeline.mode; the booleans it replaced name it.
  EXPECT_THAT([&] { pipeline({"draft.enabled=false"}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("draft.enabled"), HasSubstr("pipeline.mode"))));
  EXPECT_THAT([&] { pipeline({"refine.span_cache=true"}); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("refine.span_cache"), HasSubstr("refine.cache"))));
  EXPECT_THAT([&] { pipeline({"pipeline.max_tokens=100", "pipeline.section_tokens=64"}).generate("x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("pipeline.section_tokens")));
}

}  // namespace
}  // namespace sculpt
