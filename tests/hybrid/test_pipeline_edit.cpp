// Pipeline::edit on the tiny pipeline (contexts of 64 tokens, so documents of a few hundred
// tokens are edited window by window): rewrite, lock, gaps, required and forbidden phrases,
// continue, the fix; locked and untouched text byte for byte in every output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "hybrid/pipeline.h"
#include "hybrid/text_spans.h"
#include "hybrid/word_corruption.h"
#include "support/test_util.h"
#include "support/tiny_pipeline.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using sculpt::testing::TempDir;

class PipelineEditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sculpt_pipeline_edit");
    sculpt::testing::make_tiny_pipeline_models(*dir_);
    sculpt::testing::write_tiny_pipeline_config(*dir_, /*refine_steps=*/4, /*budget_tokens=*/16, "  max_tokens: 24\n");
  }
  static void TearDownTestSuite() { delete dir_; }
  static Pipeline pipeline(const std::vector<std::string>& overrides = {}) {
    return Pipeline::from_file(dir_->file("pipeline.yaml"), overrides);
  }
  // Code points of `part` in `text` (ASCII here), as a range.
  static CharRange range_of(const std::string& text, const std::string& part, size_t from = 0) {
    const size_t at = text.find(part, from);
    EXPECT_NE(at, std::string::npos) << part;
    return {int64_t(at), int64_t(at + part.size())};
  }
  // The bytes of `text` the tokens covering `r` take: what an edit of r may change.
  static std::pair<size_t, size_t> covered(const Pipeline& p, const std::string& text, CharRange r) {
    const std::vector<TokenId> ids = p.tokenizer().encode(text);
    const TokenLayout layout = token_layout(p.tokenizer(), ids, text);
    EXPECT_TRUE(layout.exact);
    const Span s = token_spans_of(p.tokenizer(), ids, text, {{r.begin, r.end}})[0];
    return {layout.byte_begin[size_t(s.begin)], layout.byte_end[size_t(s.end - 1)]};
  }
  static TempDir* dir_;
};
TempDir* PipelineEditTest::dir_ = nullptr;

// The words of a text, most frequent first (three letters or more).
std::string most_frequent_word(const std::string& text) {
  std::map<std::string, int> counts;
  for (std::string w : split_words(text)) {
    w.erase(std::remove_if(w.begin(), w.end(), [](char c) { return !std::isalpha(static_cast<unsigned char>(c)); }), w.end());
    if (w.size() >= 3) ++counts[w];
  }
  return std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
}

bool contains_ignoring_case(std::string text, std::string part) {
  for (std::string* s : {&text, &part})
    for (char& c : *s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text.find(part) != std::string::npos;
}

TEST_F(PipelineEditTest, RewritesKeepEverythingElseByteForByteAcrossWindows) {
  Pipeline p = pipeline();
  const std::string text = sculpt::testing::make_document(11, 24);  // several hundred tokens, contexts of 64
  ASSERT_GT(p.tokenizer().encode(text).size(), 250u);
  const CharRange first = range_of(text, "reads"), last = range_of(text, "the rules", text.size() / 2);
  const PipelineResult r = p.edit({text, {first, last}});
  const auto [b1, e1] = covered(p, text, first);
  const auto [b2, e2] = covered(p, text, last);
  EXPECT_EQ(r.text.substr(0, b1), text.substr(0, b1));
  ASSERT_GE(r.text.size(), text.size() - e2);
  EXPECT_EQ(r.text.substr(r.text.size() - (text.size() - e2)), text.substr(e2));
  EXPECT_THAT(r.text, HasSubstr(text.substr(e1, b2 - e1)));  // everything between the two ranges
  EXPECT_EQ(r.draft_text, text);
  EXPECT_GT(r.trace.n_generated, 0);
}

TEST_F(PipelineEditTest, LockedTextSurvivesTheFixThatRewritesEverythingElse) {
  // A fix that re-masks every token it may: only the locks hold the text.
  Pipeline p = pipeline({"spans.fix_strategy=refiner_confidence", "spans.confidence_threshold=1", "spans.max_fraction=1",
                         "spans.dilate=0", "spans.verify=false"});
  const std::string text = sculpt::testing::make_document(12, 6);
  const CharRange start = range_of(text, text.substr(0, 10)), inner = range_of(text, "the", 30);
  const PipelineResult r = p.edit({text, {}, {start, {inner.begin, inner.end + 8}}});
  EXPECT_EQ(r.text.substr(0, 10), text.substr(0, 10)) << r.text << "\n" << text;
  EXPECT_THAT(r.text, HasSubstr(text.substr(size_t(inner.begin), 11)));
  EXPECT_NE(r.text, text);  // the rest was rewritten
}

TEST_F(PipelineEditTest, GapsAreFilledFromBothSidesAndTheRestIsUnchanged) {
  Pipeline p = pipeline();
  const std::string left = "The sailor reads the harbour.", right = " A student paints the museum.";
  const PipelineResult r = p.edit({left + " [___:6]" + right});
  EXPECT_EQ(r.text.substr(0, left.size()), left);
  ASSERT_GE(r.text.size(), left.size() + right.size());
  EXPECT_EQ(r.text.substr(r.text.size() - right.size()), right);
  const std::string filled = r.text.substr(left.size(), r.text.size() - left.size() - right.size());
  EXPECT_FALSE(filled.empty());
  EXPECT_EQ(filled.find("[___"), std::string::npos);
  EXPECT_EQ(filled.find("[MASK]"), std::string::npos);
  EXPECT_EQ(r.draft_text, left + " [___:6]" + right);
}

// Writes EOS at the third masked slot and token 7 at the others: a gap that ends early.
class EndsAtThirdSlot : public Denoiser {
 public:
  explicit EndsAtThirdSlot(TokenId eos) : eos_(eos) {}
  RefineResult denoise(const Canvas& canvas, const RefineParams&, const RefineStepCallback&) override {
    RefineResult r;
    r.tokens = canvas.tokens;
    int seen = 0;
    for (size_t i = 0; i < r.tokens.size(); ++i)
      if (canvas.roles[i] == CanvasRole::kMasked) r.tokens[i] = ++seen == 3 ? eos_ : 7;
    return r;
  }

 private:
  TokenId eos_;
};

TEST_F(PipelineEditTest, AGapEndsWhereTheRefinerWritesEos) {
  Pipeline p = pipeline();
  p.set_denoiser(std::make_unique<EndsAtThirdSlot>(p.tokenizer().eos_id()));
  const PipelineResult r = p.edit({"The sailor [___:8] reads."});
  const std::string seven = p.tokenizer().piece_bytes(7);
  EXPECT_EQ(r.text, "The sailor" + seven + seven + " reads.");
}

TEST_F(PipelineEditTest, RequiredPhrasesAppearByteForByte) {
  Pipeline p = pipeline();
  const std::string text = sculpt::testing::make_document(13, 4);
  EditRequest chosen{text, {range_of(text, text.substr(20, 30))}};
  chosen.require.push_back({"olive oil museum", -1});
  EXPECT_THAT(p.edit(chosen).text, HasSubstr("olive oil museum"));
  EditRequest placed{"The sailor [___:16] the harbour."};
  placed.require.push_back({"olive oil", 11});  // at the gap
  const PipelineResult r = p.edit(placed);
  EXPECT_EQ(r.text.rfind("The sailor olive oil", 0), 0u) << r.text;
  EXPECT_EQ(r.text.substr(r.text.size() - 13), " the harbour.");
  EditRequest too_long{"The sailor [___:2] reads."};
  too_long.require.push_back({"a very long phrase that cannot fit", -1});
  EXPECT_THAT([&] { p.edit(too_long); }, ThrowsMessage<Error>(HasSubstr("but the largest rewrite range or gap has 2")));
}

TEST_F(PipelineEditTest, ForbiddenPhrasesNeverAppearEvenWhatTheModelsMostWantToWrite) {
  // The drafter and refiner's favourite word, unbanned, then banned.
  Pipeline p = pipeline({"pipeline.max_tokens=48"});
  const PipelineResult free = p.generate("The sailor");
  const std::string favourite = most_frequent_word(free.text);
  ASSERT_TRUE(contains_ignoring_case(free.text, favourite));
  PipelineConfig banned = p.config();
  banned.pipeline.forbid = {favourite};
  const PipelineResult kept_out = p.generate("The sailor", banned);
  EXPECT_FALSE(contains_ignoring_case(kept_out.text, favourite)) << favourite << ": " << kept_out.text;
  EXPECT_GT(kept_out.text.size(), 20u);
  // The refiner too: the gaps' favourite word, then the gaps again with it forbidden.
  const std::string gaps = "The sailor [___:12]. A student [___:12]. My neighbour [___:12].";
  const std::string filled = p.edit({gaps}).text;
  const std::string wanted = most_frequent_word(filled.substr(10));
  EditRequest ban{gaps};
  ban.forbid = {wanted};
  const std::string without = p.edit(ban).text;
  EXPECT_FALSE(contains_ignoring_case(without, wanted)) << wanted << ": " << without;
  // Already in the user's text: rewritten; kept by a lock: refused.
  EditRequest in_text{"The sailor reads the harbour and the museum."};
  in_text.forbid = {"harbour"};
  EXPECT_FALSE(contains_ignoring_case(p.edit(in_text).text, "harbour"));
  in_text.lock = {{15, 30}};
  EXPECT_THAT([&] { p.edit(in_text); }, ThrowsMessage<Error>(HasSubstr("keeps the forbidden phrase 'harbour'")));
}

TEST_F(PipelineEditTest, ContinueWritesAfterTheText) {
  Pipeline p = pipeline();
  EditRequest more{"The sailor reads the harbour."};
  more.continue_tokens = 12;
  const PipelineResult drafted = p.edit(more);
  EXPECT_EQ(drafted.text.rfind(more.text, 0), 0u);
  EXPECT_GT(drafted.text.size(), more.text.size());
  more.require.push_back({"olive oil", -1});  // a phrase to place: the refiner writes the continuation around it
  const PipelineResult written = p.edit(more);
  EXPECT_EQ(written.text.rfind(more.text, 0), 0u);
  EXPECT_THAT(written.text.substr(more.text.size()), HasSubstr("olive oil"));
}

// Every event an edit reports, kept.
struct Seen : PipelineObserver {
  std::string tokens;
  std::vector<SpansEvent> spans;
  std::vector<SectionEvent> sections;
  int steps = 0;
  void on_draft_token(const DraftTokenEvent& e) override { tokens += e.text; }
  void on_spans(const SpansEvent& e) override { spans.push_back(e); }
  void on_refine_step(const RefineStepEvent&) override { ++steps; }
  void on_section(const SectionEvent& e) override { sections.push_back(e); }
};

TEST_F(PipelineEditTest, TheEventsReportTheDocumentThenItsChanges) {
  Pipeline p = pipeline();
  const std::string text = "The sailor reads the harbour. A student paints the museum.";
  Seen seen;
  const PipelineResult r = p.edit({text, {range_of(text, "paints")}}, &seen);
  EXPECT_EQ(seen.tokens, text);  // the document's tokens spell the text exactly
  ASSERT_EQ(seen.spans.size(), 1u);
  EXPECT_EQ(seen.spans[0].strategy, "edit");
  EXPECT_GT(seen.steps, 0);
  ASSERT_EQ(seen.sections.size(), 1u);
  EXPECT_EQ(seen.sections[0].text, r.text);
}

TEST_F(PipelineEditTest, TheFixScoresTheTextAsFixStrategySaysAndTheDrafterVerifies) {
  const std::string text = sculpt::testing::make_document(14, 5);
  auto fix = [&](const std::vector<std::string>& overrides, bool* verified) {
    Seen seen;
    const PipelineResult r = pipeline(overrides).edit({text}, &seen);
    *verified = std::any_of(r.trace.stages.begin(), r.trace.stages.end(), [](const StageTiming& t) { return t.name == "verify"; });
    EXPECT_EQ(seen.spans.size(), 1u);
    return seen.spans.empty() ? std::string() : seen.spans[0].strategy;
  };
  bool verified = false;
  EXPECT_EQ(fix({}, &verified), "refiner_confidence");  // the default
  EXPECT_TRUE(verified);                                 // the drafter keeps only what it finds likelier
  EXPECT_EQ(fix({"spans.fix_strategy=combined"}, &verified), "combined");
  EXPECT_EQ(fix({"spans.fix_strategy=logprob"}, &verified), "logprob");
  EXPECT_EQ(fix({"spans.fix_strategy=combined", "pipeline.mode=diffusion_only"}, &verified), "refiner_confidence");
  EXPECT_FALSE(verified);  // no drafter to verify with
}

TEST_F(PipelineEditTest, ARefusedEditChangesNothingAndThePipelineGoesOn) {
  Pipeline p = pipeline();
  const std::string text = "The sailor reads the harbour.";
  EXPECT_THAT([&] { p.edit({text, {{4, 10}}, {{8, 14}}}); }, ThrowsMessage<Error>(HasSubstr("overlaps rewrite[0]")));
  EXPECT_THAT([&] { p.edit({"The [___:x] sailor"}); }, ThrowsMessage<Error>(HasSubstr("gap marker at 4")));
  EXPECT_THAT([&] { p.edit({text, {{4, 99}}}); }, ThrowsMessage<Error>(HasSubstr("outside the text's 29 characters")));
  const std::string after = p.edit({text, {{4, 10}}}).text;
  EXPECT_EQ(after.substr(after.size() - 19), " reads the harbour.");
}

}  // namespace
}  // namespace sculpt
