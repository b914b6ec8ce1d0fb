// The server's event stream (server/completion_stream.h) fed with pipeline events: the SSE
// framing OpenAI clients parse, and revisions that, applied in order to the streamed draft,
// give exactly the final text.
#include "server/completion_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

namespace sculpt::server {
namespace {

using nlohmann::json;

struct Sse {
  std::string event;  // "" = a plain data event
  std::string data;
};

// Splits a stream into its events, checking the framing as a strict SSE reader would.
std::vector<Sse> parse_sse(const std::string& stream) {
  std::vector<Sse> out;
  size_t at = 0;
  while (at < stream.size()) {
    const size_t end = stream.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << "an event not ended by a blank line";
    if (end == std::string::npos) break;
    Sse e;
    std::string block = stream.substr(at, end - at);
    for (size_t line_start = 0; line_start <= block.size();) {
      const size_t nl = block.find('\n', line_start);
      const std::string line = block.substr(line_start, nl == std::string::npos ? std::string::npos : nl - line_start);
      if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
      else ADD_FAILURE() << "unexpected line: " << line;
      if (nl == std::string::npos) break;
      line_start = nl + 1;
    }
    out.push_back(e);
    at = end + 2;
  }
  return out;
}

// Replaces code points [begin, end) of a UTF-8 text.
std::string apply(const std::string& text, int64_t begin, int64_t end, const std::string& replacement) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(text.size());
  return text.substr(0, starts.at(size_t(begin))) + replacement + text.substr(starts.at(size_t(end)));
}

class CompletionStreamTest : public ::testing::Test {
 protected:
  std::string run(bool revisions, const std::vector<std::string>& drafted, const std::vector<Span>& spans,
                  const std::vector<RefineStep>& steps, const std::vector<std::string>& step_texts,
                  const std::string& section_text, const std::vector<std::string>& reread = {}) {
    std::string out;
    ClientConnection nobody("203.0.113.1", 1);  // no such socket: never gone
    std::atomic<bool> stopping{false};
    RequestGuard guard(nobody, 60, stopping);
    CompletionStream::Options options;
    options.revisions = revisions;
    options.id = "cmpl-1";
    options.model = "m";
    CompletionStream stream(options, [&](const std::string& s) { out += s; return true; }, guard);
    stream.start();
    for (size_t i = 0; i < drafted.size(); ++i) stream.on_draft_token({0, int64_t(i), 0, drafted[i], -1.0f, 1.0f});
    SpansEvent se{0, "logprob", int64_t(reread.empty() ? drafted.size() : reread.size()), {}, reread};
    for (const Span& s : spans) se.spans.push_back({s, 2.0f, false});
    stream.on_spans(se);
    for (size_t k = 0; k < steps.size(); ++k) stream.on_refine_step({0, steps[k], {step_texts[k]}});
    stream.on_section({0, section_text, ""});
    PipelineResult result;
    result.text = section_text;
    stream.finish(result, {{"prompt_tokens", 1}}, json::object(), json::array());
    return out;
  }
};

TEST_F(CompletionStreamTest, RevisionsTurnTheStreamedDraftIntoTheFinalText) {
  RefineStep s0, s1;
  s0.step = 0, s0.committed = {2}, s0.tokens = {11}, s0.confidence = {0.7f};
  s1.step = 1, s1.committed = {1}, s1.tokens = {12}, s1.confidence = {0.9f};
  const std::string final_text = " The court ruled it";
  const std::vector<Sse> events =
      parse_sse(run(true, {" The", " jury", " said", " it"}, {{1, 3}}, {s0, s1}, {" ruled", " court"}, final_text));
  std::string text;  // what a client applying everything holds
  int revisions = 0;
  for (const Sse& e : events) {
    if (e.data == "[DONE]") continue;
    const json j = json::parse(e.data);
    // Every event names itself in its data (clients that drop event names still tell them apart).
    EXPECT_EQ(j["object"], e.event.empty() ? "text_completion" : e.event);
    if (e.event.empty()) {
      ASSERT_TRUE(j.contains("choices"));
      text += j["choices"][0]["text"].get<std::string>();
    } else if (e.event == "sculpt.refine") {
      text = apply(text, j["begin"], j["end"], j["new"]);
      ++revisions;
    } else if (e.event == "sculpt.done") {
      EXPECT_EQ(j["text"], final_text);
    } else {
      EXPECT_EQ(e.event, "sculpt.spans");
      EXPECT_EQ(j["spans"][0]["begin"], 4);  // " jury said" after " The"
      EXPECT_EQ(j["spans"][0]["end"], 14);
      EXPECT_EQ(j["spans"][0]["tokens"], 2);  // the positions the refiner masks
    }
  }
  EXPECT_EQ(text, final_text);
  EXPECT_EQ(revisions, 3);  // the spans blanked, then two fills
  EXPECT_EQ(events.back().data, "[DONE]");
}

// A refiner with its own tokenizer: the spans event re-counts the draft in the refiner's tokens,
// and the spans and steps that follow are placed by those.
TEST_F(CompletionStreamTest, RevisionsFollowTheRefinersTokensOfACrossedDraft) {
  RefineStep s0, s1;
  s0.step = 0, s0.committed = {1}, s0.tokens = {11}, s0.confidence = {0.7f};
  s1.step = 1, s1.committed = {2}, s1.tokens = {12}, s1.confidence = {0.9f};
  const std::string final_text = " The court said it";
  std::string text;
  for (const Sse& e : parse_sse(run(true, {" The", " jury", " said", " it"}, {{1, 3}}, {s0, s1}, {" co", "urt"},
                                    final_text, {" The", " ju", "ry", " said", " it"}))) {
    if (e.data == "[DONE]" || e.event == "sculpt.done") continue;
    const json j = json::parse(e.data);
    if (e.event == "sculpt.spans") {
      EXPECT_EQ(j["spans"][0]["begin"], 4);  // " jury" after " The": the refiner's " ju" and "ry"
      EXPECT_EQ(j["spans"][0]["end"], 9);
    } else if (e.event.empty()) {
      text += j["choices"][0]["text"].get<std::string>();
    } else {
      text = apply(text, j["begin"], j["end"], j["new"]);
    }
  }
  EXPECT_EQ(text, final_text);
}

TEST_F(CompletionStreamTest, AFinalRevisionCorrectsWhatPieceTextsCouldNotSay) {
  RefineStep s0;
  s0.step = 0, s0.committed = {1}, s0.tokens = {5}, s0.confidence = {0.5f};
  // The decoder joins the pieces differently from their texts (a multi-byte character).
  const std::string final_text = " caf\xc3\xa9 ok";
  std::string text;
  for (const Sse& e : parse_sse(run(true, {" caf", "", " ok"}, {{1, 2}}, {s0}, {"\xef\xbf\xbd"}, final_text))) {
    if (e.data == "[DONE]" || e.event == "sculpt.spans" || e.event == "sculpt.done") continue;
    const json j = json::parse(e.data);
    if (e.event.empty()) text += j["choices"][0]["text"].get<std::string>();
    else text = apply(text, j["begin"], j["end"], j["new"]);
  }
  EXPECT_EQ(text, final_text);
}

TEST_F(CompletionStreamTest, WithoutRevisionsOnlyFinalTextIsSent) {
  RefineStep s0;
  s0.step = 0, s0.committed = {1}, s0.tokens = {5}, s0.confidence = {0.5f};
  const std::vector<Sse> events = parse_sse(run(false, {" The", " jury"}, {{1, 2}}, {s0}, {" court"}, " The court"));
  ASSERT_EQ(events.size(), 3u);  // the section, the finish chunk, [DONE]
  EXPECT_EQ(json::parse(events[0].data)["choices"][0]["text"], " The court");
  EXPECT_EQ(json::parse(events[0].data)["object"], "text_completion");
  EXPECT_EQ(json::parse(events[1].data)["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[2].data, "[DONE]");
  for (const Sse& e : events) EXPECT_EQ(e.event, "");
}

}  // namespace
}  // namespace sculpt::server
