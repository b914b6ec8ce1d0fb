// The records retrieval passes around: a source document, a passage cut from it, a ranked hit,
// and a passage as injected into a model's context. Offsets are byte offsets into the
// document's UTF-8 text, so `doc.text.substr(p.start, p.end - p.start) == p.text` always holds.
//
//   Document doc{"ca01.txt", "The jury said ..."};
//   std::vector<Hit> hits = retriever->search("jury election", /*k=*/5);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/corpus.h"  // Document: a unique id (a file name, a URL, a primary key) and its text

namespace sculpt {

// A contiguous span of a document, the unit that is indexed and returned.
struct Passage {
  std::string doc_id;
  size_t start = 0;  // byte offset of the first byte in the document's text
  size_t end = 0;    // byte offset one past the last byte
  std::string text;  // the document's bytes [start, end)
};

// One search result. Hits come best first; `score` is backend-specific (BM25 sum, cosine,
// fused reciprocal rank, ts_rank_cd) and only comparable within one result list.
struct Hit {
  uint64_t passage_id = 0;  // stable within one index: the order passages were added in
  std::string doc_id;
  size_t start = 0;  // as in Passage
  size_t end = 0;
  std::string text;
  double score = 0;
};

// A passage that went into the context.
struct InjectedPassage {
  uint64_t passage_id = 0;
  std::string doc_id;
  size_t start = 0, end = 0;  // the span injected (whitespace trimmed; shorter when truncated)
  double score = 0;
  int n_tokens = 0;  // of its rendered block, separator included
  bool truncated = false;
  std::string text;  // the text injected (the document's bytes [start, end))
};

}  // namespace sculpt
