// render_edits: token-level diff of a draft and its refinement.
#include "cli/edit_view.h"

#include "core/error.h"

namespace sculpt::cli {
namespace {

// A token's text as it reads inside a sentence: "▁" is a space; byte pieces decode to their byte.
std::string piece_text(const Tokenizer& tok, int64_t id) {
  const std::string piece = tok.id_to_piece(int32_t(id));
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0) return tok.decode({int32_t(id)});
  if (id == tok.bos_id() || id == tok.eos_id() || id == tok.mask_id()) return "";
  std::string out;
  const std::string space = "\xe2\x96\x81";  // U+2581, sentencepiece's word boundary
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, space.size(), space) == 0) {
      out += ' ';
      i += space.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

}  // namespace

std::string render_edits(const Tokenizer& tok, const std::vector<int64_t>& draft, const std::vector<int64_t>& refined,
                         bool colour) {
  if (draft.size() != refined.size())
    fail("show-edits", "draft and refinement are not token-aligned (", draft.size(), " and ", refined.size(), " tokens)");
  std::string out;
  for (size_t i = 0; i < draft.size(); ++i) {
    const std::string now = piece_text(tok, refined[i]);
    if (draft[i] == refined[i]) {
      out += now;
      continue;
    }
    const std::string before = draft[i] == tok.mask_id() ? "" : piece_text(tok, draft[i]);
    if (colour) out += "\x1b[9;31m" + before + "\x1b[0m\x1b[1;32m" + now + "\x1b[0m";
    else out += "[-" + before + "-]{+" + now + "+}";
  }
  return out;
}

}  // namespace sculpt::cli
