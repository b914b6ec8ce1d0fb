// Canvas: building a refinement canvas from context and draft, marking spans.
#include "diffusion_refine/canvas.h"

#include <algorithm>

#include "core/error.h"

namespace sculpt {

Canvas Canvas::from_parts(const std::vector<TokenId>& context, const std::vector<TokenId>& draft) {
  Canvas c;
  c.tokens = context;
  c.tokens.insert(c.tokens.end(), draft.begin(), draft.end());
  c.roles.assign(context.size(), CanvasRole::kFrozen);
  c.roles.resize(c.tokens.size(), CanvasRole::kDraft);
  c.n_context = int64_t(context.size());
  return c;
}

void Canvas::mark(const std::vector<Span>& spans, CanvasRole role) {
  for (const Span& s : spans) {
    if (s.begin < 0 || s.end < s.begin || s.end > n_draft())
      fail("span", s.begin, ":", s.end, " is outside the draft of ", n_draft(), " tokens");
    std::fill(roles.begin() + n_context + s.begin, roles.begin() + n_context + s.end, role);
  }
}

int64_t Canvas::count(CanvasRole role) const { return int64_t(std::count(roles.begin(), roles.end(), role)); }

}  // namespace sculpt
