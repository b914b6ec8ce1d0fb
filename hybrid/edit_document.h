// The token document an edit works on (Pipeline::edit): the text's tokens, each marked with what
// the edit may do to it, the gaps' mask slots inserted, required phrases placed as fixed tokens;
// then, once the refiner has written it, its text: the user's own bytes wherever nothing was
// rewritten, so locked and untouched text comes back byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "diffusion_refine/canvas.h"
#include "hybrid/edit_request.h"
#include "hybrid/text_spans.h"

namespace sculpt {

struct EditToken {
  TokenId id = 0;
  CanvasRole role = CanvasRole::kFrozen;  // kMasked: the refiner writes it; everything else is read only
  int64_t source = -1;                    // the text's token it is (-1: a gap slot or a phrase token)
  int gap = -1;                           // the gap whose slot it is; -1 = none
  bool locked = false;                    // inside a lock range
  bool phrase = false;                    // a required phrase's token
  bool fix = false;                       // masked by the fix (not asked for): the fix's check may restore it
};

class EditDocument {
 public:
  // Tokenizes the plan's text, masks its rewrite ranges, inserts a run of `mask` per gap (a gap
  // inside a token takes that token too) and marks the locked tokens.
  EditDocument(const Tokenizer& tokenizer, const EditPlan& plan, TokenId mask);

  std::vector<EditToken>& tokens() { return tokens_; }
  const std::vector<EditToken>& tokens() const { return tokens_; }
  const std::vector<TokenId>& source_ids() const { return ids_; }  // the text's own tokens

  // Masks the text's tokens in `spans` (source coordinates), except locked ones, as the fix's.
  void mask_source(const std::vector<Span>& spans);
  // Appends a gap of n slots after the text (the continuation written by the refiner).
  void append_gap(int n);
  // Runs of masked tokens, in order.
  std::vector<Span> masked_runs() const;
  // The document index where code point `at` of the text falls inside a masked run; -1 if none.
  int64_t masked_index_at(int64_t at) const;
  // Puts phrase tokens at [at, at + ids.size()), which must be masked slots of one run.
  void place(const std::vector<TokenId>& ids, int64_t at);

  // The text each token adds, for a reader that starts from nothing: the user's bytes for the
  // text's tokens (a character spelled by several pieces comes with its last), a phrase's
  // spelling, "" for a gap slot.
  std::vector<std::string> token_texts() const;
  // Ends each gap at the first slot the refiner filled with `end` (EOS): that slot and the rest
  // of the gap are dropped.
  void end_gaps_at(TokenId end);
  // The document's text: the user's bytes where tokens are the text's own and unmasked, the
  // written tokens' spelling elsewhere.
  std::string text() const;

 private:
  const Tokenizer& tokenizer_;
  TokenId mask_;              // the refiner's mask token (config.json's or the tokenizer's)
  std::string text_;          // the plan's text
  std::vector<TokenId> ids_;  // its tokens
  TokenLayout layout_;
  std::vector<EditToken> tokens_;
};

}  // namespace sculpt
