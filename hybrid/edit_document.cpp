// The token document of an edit; see edit_document.h.
#include "hybrid/edit_document.h"

#include <algorithm>

#include "core/error.h"
#include "core/hf_text.h"
#include "core/text_check.h"

namespace sculpt {

EditDocument::EditDocument(const Tokenizer& tokenizer, const EditPlan& plan, TokenId mask)
    : tokenizer_(tokenizer),
      mask_(mask),
      text_(plan.text),
      ids_(tokenizer.encode(plan.text)),
      layout_(token_layout(tokenizer, ids_, text_)) {
  const int64_t n = int64_t(ids_.size());
  std::vector<uint8_t> masked(size_t(n), 0), locked(size_t(n), 0);
  auto token_range = [&](const CharRange& r) {
    const std::vector<Span> s = token_spans_of(tokenizer, ids_, text_, {{r.begin, r.end}});
    return s.empty() ? Span{0, 0} : s[0];
  };
  for (const CharRange& r : plan.lock) {
    const Span s = token_range(r);
    for (int64_t i = s.begin; i < s.end; ++i) locked[size_t(i)] = 1;
  }
  for (size_t k = 0; k < plan.rewrite.size(); ++k) {
    const Span s = token_range(plan.rewrite[k]);
    for (int64_t i = s.begin; i < s.end; ++i) {
      if (locked[size_t(i)])
        fail(str_cat("rewrite ", plan.rewrite[k].begin, ":", plan.rewrite[k].end), "shares the token at characters ",
             layout_.chars[size_t(i)].begin, "-", layout_.chars[size_t(i)].end,
             " with a lock range: move the lock or the rewrite to a word boundary");
      masked[size_t(i)] = 1;
    }
  }
  // A token that spells no character of the text (a dummy-prefix "▁" before the first word)
  // goes with the token after it: locked with it, rewritten with it.
  for (int64_t i = n - 2; i >= 0; --i)
    if (layout_.chars[size_t(i)].end == layout_.chars[size_t(i)].begin) {
      locked[size_t(i)] = locked[size_t(i)] || locked[size_t(i + 1)];
      masked[size_t(i)] = masked[size_t(i)] || masked[size_t(i + 1)];
    }
  // Each gap goes before the first token that starts at or after it; a token it falls inside
  // is rewritten with it.
  std::vector<std::vector<int>> gaps_before(size_t(n) + 1);
  for (size_t g = 0; g < plan.gaps.size(); ++g) {
    const int64_t at = plan.gaps[g].at;
    int64_t i = 0;
    while (i < n && layout_.chars[size_t(i)].begin < at) ++i;
    if (i > 0 && layout_.chars[size_t(i - 1)].end > at) {
      if (locked[size_t(i - 1)]) fail(str_cat("gap at ", at), "falls inside a locked word");
      masked[size_t(i - 1)] = 1;
    }
    gaps_before[size_t(i)].push_back(int(g));
  }
  for (int64_t i = 0; i <= n; ++i) {
    for (int g : gaps_before[size_t(i)])
      for (int k = 0; k < plan.gaps[size_t(g)].n_tokens; ++k) tokens_.push_back({mask, CanvasRole::kMasked, -1, g, false, false});
    if (i == n) break;
    tokens_.push_back({ids_[size_t(i)], masked[size_t(i)] ? CanvasRole::kMasked : CanvasRole::kFrozen, i, -1,
                       locked[size_t(i)] != 0, false});
  }
}

void EditDocument::mask_source(const std::vector<Span>& spans) {
  for (EditToken& t : tokens_)
    if (t.source >= 0 && !t.locked && t.role != CanvasRole::kMasked)
      for (const Span& s : spans)
        if (t.source >= s.begin && t.source < s.end) t.role = CanvasRole::kMasked, t.fix = true;
}

void EditDocument::append_gap(int n) {
  int gap = 0;
  for (const EditToken& t : tokens_) gap = std::max(gap, t.gap + 1);
  for (int k = 0; k < n; ++k) tokens_.push_back({mask_, CanvasRole::kMasked, -1, gap, false, false});
}

std::vector<Span> EditDocument::masked_runs() const {
  std::vector<Span> out;
  for (int64_t i = 0; i < int64_t(tokens_.size()); ++i) {
    if (tokens_[size_t(i)].role != CanvasRole::kMasked) continue;
    if (!out.empty() && out.back().end == i) ++out.back().end;
    else out.push_back({i, i + 1});
  }
  return out;
}

int64_t EditDocument::masked_index_at(int64_t at) const {
  // A gap at `at`: its first slot. Else the masked token of the text covering `at`.
  int64_t chars_before = 0;  // code points of the text before token i
  for (int64_t i = 0; i < int64_t(tokens_.size()); ++i) {
    const EditToken& t = tokens_[size_t(i)];
    if (t.source < 0) {
      if (t.gap >= 0 && t.role == CanvasRole::kMasked && chars_before == at) return i;
      continue;
    }
    const Span c = layout_.chars[size_t(t.source)];
    if (c.begin <= at && at < c.end && t.role == CanvasRole::kMasked) return i;
    chars_before = c.end;
  }
  return -1;
}

void EditDocument::place(const std::vector<TokenId>& ids, int64_t at) {
  for (size_t k = 0; k < ids.size(); ++k) {
    EditToken& t = tokens_.at(size_t(at) + k);
    if (t.role != CanvasRole::kMasked) fail("edit", "a required phrase must go in masked slots (internal)");
    t = {ids[k], CanvasRole::kFrozen, -1, t.gap, false, true};
  }
}

std::vector<std::string> EditDocument::token_texts() const {
  std::vector<std::string> out;
  for (const EditToken& t : tokens_) {
    if (t.source >= 0 && layout_.exact) {
      // The user's bytes: each token ends at the last character boundary inside it, so a
      // character spelled by several pieces comes whole with its last piece.
      const size_t i = size_t(t.source);
      const size_t begin = i == 0 ? 0 : char_floor(text_, layout_.byte_end[i - 1]);
      const size_t end = i + 1 == ids_.size() ? text_.size() : char_floor(text_, layout_.byte_end[i]);
      out.push_back(text_.substr(begin, std::max(begin, end) - begin));
    } else if (t.gap >= 0 && !t.phrase) {
      out.emplace_back();
    } else {
      out.push_back(tokenizer_.piece_text(t.id));
    }
  }
  return out;
}

void EditDocument::end_gaps_at(TokenId end) {
  std::vector<EditToken> kept;
  int ended_gap = -2;
  for (const EditToken& t : tokens_) {
    if (t.gap >= 0 && t.gap == ended_gap && !t.phrase) continue;  // a placed phrase stays wherever it is
    if (t.gap >= 0 && !t.phrase && (t.id == end || t.id == mask_)) {
      ended_gap = t.gap;
      continue;
    }
    kept.push_back(t);
  }
  tokens_ = std::move(kept);
}

std::string EditDocument::text() const {
  if (!layout_.exact) {  // the tokenizer does not spell the text back: its own reading of the tokens
    std::vector<TokenId> all;
    for (const EditToken& t : tokens_) all.push_back(t.id);
    return tokenizer_.decode(all);
  }
  std::string out;
  std::vector<TokenId> written;  // a run of tokens the model (or a phrase) put in
  bool at_start = true;          // nothing of the text before the run
  auto flush = [&] {
    if (written.empty()) return;
    std::string bytes = spelling_of(tokenizer_, written);
    if (first_invalid_utf8(bytes) >= 0) bytes = tokenizer_.decode(written);  // an unfinished character
    // At the very start the decoder drops a first piece's space (sentencepiece's dummy prefix).
    if (at_start && out.empty() && bytes.compare(0, 1, " ") == 0 && tokenizer_.decode({written[0]}).compare(0, 1, " ") != 0)
      bytes.erase(0, 1);
    out += bytes;
    written.clear();
  };
  for (const EditToken& t : tokens_) {
    const bool own = t.source >= 0 && t.role != CanvasRole::kMasked && t.id == ids_[size_t(t.source)] && !t.phrase;
    if (!own) {
      written.push_back(t.id);
      continue;
    }
    flush();
    const size_t i = size_t(t.source);
    out += text_.substr(layout_.byte_begin[i], layout_.byte_end[i] - layout_.byte_begin[i]);
    at_start = false;
  }
  flush();
  // A written run may leave a character of the text unfinished (a byte-level tokenizer splits
  // one across tokens, and the run replaced part of it): as decoding the whole text would, each
  // broken sequence becomes U+FFFD. A text that was not valid UTF-8 to begin with stays as it is.
  if (first_invalid_utf8(out) >= 0 && first_invalid_utf8(text_) < 0) out = hf::utf8_lossy(out);
  return out;
}

}  // namespace sculpt
