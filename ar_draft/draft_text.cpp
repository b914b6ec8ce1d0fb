// A drafted row's text, extended token by token; see draft_text.h.
#include "ar_draft/draft_text.h"

namespace sculpt {
namespace {

// decoded = tokenizer.decode(ids) before ids' last token was added; extends it to the decoding of
// all of ids without decoding them all again, which would make a long draft quadratic. What the
// last token adds is the difference between a window of the last tokens decoded with it and
// without it: both begin at the same token, so whatever the window's start does to the text (a
// dropped leading space, a byte sequence cut in two) is the same in both. When the shorter is
// not a prefix of the longer, or not a suffix of `decoded`, the token changed text before it
// (it completed a byte sequence, say), and the whole row is decoded again.
void extend_decoded(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, std::string& decoded) {
  constexpr size_t kWindow = 16;
  if (ids.size() <= kWindow + 1) {
    decoded = tokenizer.decode(ids);
    return;
  }
  const std::vector<TokenId> window(ids.end() - kWindow - 1, ids.end());
  const std::string with = tokenizer.decode(window);
  const std::string without = tokenizer.decode(std::vector<TokenId>(window.begin(), window.end() - 1));
  const bool local = with.compare(0, without.size(), without) == 0 && decoded.size() >= without.size() &&
                     decoded.compare(decoded.size() - without.size(), without.size(), without) == 0;
  if (local) decoded.append(with, without.size(), std::string::npos);
  else decoded = tokenizer.decode(ids);
}

}  // namespace

DraftText::DraftText(const Tokenizer& tokenizer, const std::vector<TokenId>& prompt_ids)
    : tokenizer_(tokenizer), prompt_text_(tokenizer.decode(prompt_ids)), decoded_(prompt_text_) {}

std::string DraftText::extend(const std::vector<TokenId>& ids, const std::vector<std::string>& stop) {
  extend_decoded(tokenizer_, ids, decoded_);
  // The prompt's text removed; a decoding that no longer starts with it (a token merged into the
  // prompt's last character) is kept whole.
  std::string text = decoded_.compare(0, prompt_text_.size(), prompt_text_) == 0 ? decoded_.substr(prompt_text_.size())
                                                                                 : decoded_;
  for (const std::string& s : stop) {
    const size_t at = text.find(s);
    if (!s.empty() && at != std::string::npos) {
      text.resize(at);
      stopped_ = true;
    }
  }
  // What this token added; a text that shrank (a stop string cut it) adds nothing.
  std::string added = text.size() > text_.size() && text.compare(0, text_.size(), text_) == 0
                          ? text.substr(text_.size()) : std::string();
  text_ = std::move(text);
  return added;
}

}  // namespace sculpt
