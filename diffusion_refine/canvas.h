// A refinement canvas: the token sequence the refiner works on, with what it may change at
// each position: frozen context (prompt, retrieved passages), visible draft tokens, and
// positions re-masked for the refiner to write.
//
//   Canvas canvas = Canvas::from_parts(context_ids, draft_ids);
//   canvas.mark({{4, 9}}, CanvasRole::kMasked);   // re-mask draft tokens [4, 9)
//   RefineResult r = refiner.refine(canvas, params);
#pragma once

#include <cstdint>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

enum class CanvasRole : uint8_t {
  kFrozen,  // context: read, never written
  kDraft,   // a visible draft token; changed only by confidence-gated editing (edit_scope: draft)
  kMasked,  // re-masked: the refiner writes it (and, with editing, may revise it)
};

// Token ranges [begin, end), in draft coordinates (0 = first draft token) unless said otherwise.
struct Span {
  int64_t begin = 0;
  int64_t end = 0;
};

struct Canvas {
  std::vector<TokenId> tokens;   // the context then the draft; a masked position keeps its draft token
  std::vector<CanvasRole> roles;  // one per token
  int64_t n_context = 0;         // tokens before the draft (all kFrozen)

  // Context (frozen) followed by the draft (kDraft).
  static Canvas from_parts(const std::vector<TokenId>& context, const std::vector<TokenId>& draft);

  int64_t size() const { return int64_t(tokens.size()); }
  int64_t n_draft() const { return size() - n_context; }
  // Sets the role of draft tokens in `spans` (draft coordinates); throws Error for a span
  // outside the draft or with begin > end.
  void mark(const std::vector<Span>& spans, CanvasRole role);
  int64_t count(CanvasRole role) const;
};

}  // namespace sculpt
