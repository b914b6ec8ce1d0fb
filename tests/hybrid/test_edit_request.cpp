// hybrid/edit_request: gap markers out, positions mapped to the text that remains, every
// conflicting or malformed request refused with what and where; the edit document's gap slots.
#include "hybrid/edit_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "hybrid/edit_document.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(EditRequestTest, GapMarkersAreTakenOutWithTheSpaceBefore) {
  const EditPlan p = plan_edit({"The [___] said [___:40]. End"});
  EXPECT_EQ(p.text, "The said. End");
  ASSERT_EQ(p.gaps.size(), 2u);
  EXPECT_EQ(p.gaps[0].at, 3);  // "The|" : the gap's own first token brings the space
  EXPECT_EQ(p.gaps[0].n_tokens, EditRequest::kDefaultGapTokens);
  EXPECT_EQ(p.gaps[1].at, 8);  // "The said|."
  EXPECT_EQ(p.gaps[1].n_tokens, 40);
  // Inside a word, or first: nothing else is taken.
  EXPECT_EQ(plan_edit({"foo[___]bar"}).text, "foobar");
  EXPECT_EQ(plan_edit({"[_____:2] start"}).text, " start");
  EXPECT_EQ(plan_edit({"[__] is not a gap"}).gaps.size(), 0u);
  EXPECT_FALSE(plan_edit({"a [___] b"}).fix());
  EXPECT_TRUE(plan_edit({"just text"}).fix());
}

TEST(EditRequestTest, PositionsMoveWithTheMarkersTakenOut) {
  // "Café [___] and tea": é is one code point; the marker and its space are 6 code points.
  EditRequest r{"Café [___] and tea", {{11, 14}}, {{0, 4}}};
  r.require.push_back({"milk", 7});  // inside the marker: goes to the gap
  r.require.push_back({"hot", 12});  // inside the rewrite
  const EditPlan p = plan_edit(r);
  EXPECT_EQ(p.text, "Café and tea");
  EXPECT_EQ(p.rewrite[0].begin, 5);  // "and"
  EXPECT_EQ(p.rewrite[0].end, 8);
  EXPECT_EQ(p.lock[0].begin, 0);
  EXPECT_EQ(p.lock[0].end, 4);
  EXPECT_EQ(p.require[0].at, 4);  // the gap's position
  EXPECT_EQ(p.require[1].at, 6);
}

TEST(EditRequestTest, BadRequestsNameWhatAndWhere) {
  struct Case {
    EditRequest request;
    std::string says;
  };
  auto with_require = [](EditRequest r, RequiredPhrase q) {
    r.require.push_back(q);
    return r;
  };
  const std::vector<Case> cases = {
      {{"a [___:x] b"}, "gap marker at 2: expected [___] or [___:N]"},
      {{"a [___:12"}, "gap marker at 2: expected [___] or [___:N]"},
      {{"a [___ b"}, "gap marker at 2: expected"},
      {{"a [___:0] b"}, "gap marker at 2: a gap of 0 tokens: the length must be in [1, 1024]"},
      {{"a [___:2000] b"}, "a gap of 2000 tokens"},
      {{"abc", {{2, 9}}}, "rewrite[0] 2:9: is empty or outside the text's 3 characters"},
      {{"abc", {{2, 2}}}, "rewrite[0] 2:2: is empty"},
      {{"abc", {}, {{-1, 2}}}, "lock[0] -1:2: is empty or outside"},
      {{"abcdef", {{0, 4}}, {{3, 6}}}, "lock[0] 3:6: overlaps rewrite[0] 0:4"},
      {{"ab [___] cd", {}, {{0, 9}}}, "lock[0] 0:9: holds the gap marker at 3"},
      {{"ab [___] cd", {{4, 6}}}, "rewrite[0] 4:6: cuts the gap marker at 3-8"},
      {with_require({"abc"}, {"x", -1}), "require[0]: 'x' needs room: give a rewrite range, a gap"},
      {with_require({"abc", {{0, 1}}}, {"  ", -1}), "require[0]: is empty"},
      {with_require({"abcdef", {{0, 2}}}, {"x", 4}), "require[0]: position 4 is not inside a rewrite range or a gap"},
      {with_require({"abc", {{0, 1}}}, {"x", 9}), "require[0]: position 9 is outside the text's 3 characters"},
  };
  for (const Case& c : cases)
    EXPECT_THAT([&] { plan_edit(c.request); }, ThrowsMessage<Error>(HasSubstr(c.says))) << c.request.text;
  EditRequest negative{"abc"};
  negative.continue_tokens = -1;
  EXPECT_THAT([&] { plan_edit(negative); }, ThrowsMessage<Error>(HasSubstr("continue: -1 tokens")));
  // Continuing gives a phrase room at the end.
  EditRequest at_end{"abc"};
  at_end.continue_tokens = 8;
  at_end.require.push_back({"more", 3});
  EXPECT_EQ(plan_edit(at_end).require[0].at, 3);
}

TEST(EditDocumentTest, GapSlotsHoldTheRefinersMaskNotTheTokenizers) {
  // A refiner's mask may come from its config.json (Dream, LLaDA) rather than the tokenizer.
  const Tokenizer tok = Tokenizer::load(SCULPT_SOURCE_DIR "/models/refiner/tokenizer.model");
  const TokenId mask = tok.mask_id() + 4;
  EditDocument doc(tok, plan_edit({"The jury [___:3] said"}), mask);
  doc.append_gap(2);
  std::vector<TokenId> slots;
  for (const EditToken& t : doc.tokens())
    if (t.gap >= 0) slots.push_back(t.id);
  EXPECT_THAT(slots, ::testing::ElementsAre(mask, mask, mask, mask, mask));
  // Slots the refiner left unwritten end their gap.
  doc.end_gaps_at(tok.eos_id());
  for (const EditToken& t : doc.tokens()) EXPECT_LT(t.gap, 0);
  EXPECT_EQ(doc.text(), "The jury said");
}

}  // namespace
}  // namespace sculpt
