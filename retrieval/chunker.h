// Documents into passages of at most `max_tokens` words with `overlap` words shared between
// neighbours, cut at a paragraph break where one falls in the second half of the window, else at
// a sentence end, else mid-sentence. Words are split_words() runs, so chunking is independent of
// any model's tokenizer; a passage's span extends over the punctuation attached to its first and
// last words ("``Yes,'' he said." stays whole).
//
//   std::vector<Passage> ps = chunk_document(Document{"ca01", text}, ChunkParams{});
//   ps[0].text == text.substr(ps[0].start, ps[0].end - ps[0].start)
#pragma once

#include <vector>

#include "retrieval/retrieval_params.h"
#include "retrieval/passage.h"

namespace sculpt {

// The passages of `doc` in text order; none for a document without words.
std::vector<Passage> chunk_document(const Document& doc, const ChunkParams& params);

}  // namespace sculpt
