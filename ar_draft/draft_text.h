// A drafted row's text as its tokens arrive: decoded together with the prompt (sentencepiece
// drops a first piece's leading space, which would glue the draft to the prompt), extended one
// token at a time without decoding the whole row again, and cut before the first stop string.
//
//   DraftText text(tokenizer, prompt_ids);
//   ids.push_back(next);
//   std::string added = text.extend(ids, params.stop);   // what `next` adds; stream it
//   if (text.stopped()) ...                              // a stop string ended the draft
#pragma once

#include <string>
#include <vector>

#include "core/token_id.h"
#include "core/tokenizer.h"

namespace sculpt {

class DraftText {
 public:
  // The tokenizer must outlive this object.
  DraftText(const Tokenizer& tokenizer, const std::vector<TokenId>& prompt_ids);

  // ids: the prompt, then every drafted token so far, the new one last. Returns what the new
  // token adds to the text: empty while a multi-byte character is incomplete, and when a stop
  // string cut the text (stopped() is then true).
  std::string extend(const std::vector<TokenId>& ids, const std::vector<std::string>& stop);

  const std::string& text() const { return text_; }  // the drafted text, cut at a stop string
  bool stopped() const { return stopped_; }

 private:
  const Tokenizer& tokenizer_;
  std::string prompt_text_;  // decoded prompt ids
  std::string decoded_;      // decoded ids, prompt and draft
  std::string text_;
  bool stopped_ = false;
};

}  // namespace sculpt
