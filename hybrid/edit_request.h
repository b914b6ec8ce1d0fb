// Editing a text with the model (Pipeline::edit): what to rewrite, what to keep, gaps to fill,
// phrases the result must hold or never hold, and text to add at the end. Positions are Unicode
// code points of the text as given (the unit a browser and Python agree on), ranges half-open.
//
//   EditRequest r{"The jury [___:8] the election.", {}, {{0, 8}}};   // fill a gap, keep "The jury"
//   r.require.push_back({"city council"});
//   PipelineResult out = pipeline.edit(r);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sculpt {

struct CharRange {
  int64_t begin = 0;
  int64_t end = 0;
};

// A phrase the result must contain, byte for byte.
struct RequiredPhrase {
  std::string text;
  int64_t at = -1;  // code point of the text where it goes (inside a rewrite range or at a gap); -1 = the likeliest place
};

struct EditRequest {
  EditRequest() = default;
  EditRequest(std::string text, std::vector<CharRange> rewrite = {}, std::vector<CharRange> lock = {})
      : text(std::move(text)), rewrite(std::move(rewrite)), lock(std::move(lock)) {}

  // The document. "[___]" marks a gap of about kDefaultGapTokens tokens to fill, "[___:N]" one
  // of about N (1..kMaxGapTokens); the refiner writes it from the text on both sides and may end
  // it early.
  std::string text;
  std::vector<CharRange> rewrite;       // re-masked and written again against everything around them
  std::vector<CharRange> lock;          // never changed by this edit (nor chosen by the automatic fix)
  std::vector<RequiredPhrase> require;  // placed in a rewrite range, a gap or the continuation
  std::vector<std::string> forbid;      // never written (added to the pipeline's pipeline.forbid)
  int continue_tokens = 0;              // new tokens to write after the text (drafted, then refined)
  std::string context;                  // frozen text before the document: read, never changed, not returned

  static constexpr int kDefaultGapTokens = 16;
  static constexpr int kMaxGapTokens = 1024;
};

// An EditRequest with its gap markers taken out and its positions in the text that remains.
struct EditPlan {
  struct Gap {
    int64_t at = 0;  // code point of `text` where the gap's text goes
    int n_tokens = 0;
  };
  std::string text;  // the document without its gap markers (and the space before each)
  std::vector<CharRange> rewrite, lock;
  std::vector<Gap> gaps;
  std::vector<RequiredPhrase> require;  // `at` in `text`
  // Nothing to rewrite, no gap, no phrase and nothing to add: the refiner finds what to fix.
  bool fix() const;
};

// Plans a request; throws Error naming what is wrong and where: a malformed gap marker, a
// range that is empty, outside the text or cuts a gap marker, a lock that overlaps a rewrite
// or holds a gap, an empty phrase, a phrase position outside every rewrite range and gap, a
// required phrase with no room at all (no rewrite, gap or continuation).
EditPlan plan_edit(const EditRequest& request);

}  // namespace sculpt
